import { and, count, desc, eq } from "drizzle-orm";
import type { DB } from "../db/client";
import { messages, type Message } from "./schema";
import type { UserState } from "../kernel/principal";
import { MESSAGING_ERRORS } from "./errors";
import { ownedBy } from "./owner";

export interface MessageFilter {
  status?: Message["status"];
  recipientId?: string;
  limit?: number;
  offset?: number;
}

/** A sender sees the messages they sent; admins see every message. Newest first. */
export async function listMessages(db: DB, user: UserState, f: MessageFilter) {
  const limit = f.limit ?? 50;
  const offset = f.offset ?? 0;
  const where = and(ownedBy(messages.senderId, user), f.status ? eq(messages.status, f.status) : undefined, f.recipientId ? eq(messages.recipientId, f.recipientId) : undefined);
  const rows = await db.select().from(messages).where(where).orderBy(desc(messages.createdAt), desc(messages.id)).limit(limit).offset(offset);
  const [total] = await db.select({ n: count() }).from(messages).where(where);
  return { messages: rows, total: total?.n ?? 0, limit, offset };
}

export async function getMessage(db: DB, user: UserState, id: string): Promise<Message> {
  const [row] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.id, id), ownedBy(messages.senderId, user)));
  if (!row) throw MESSAGING_ERRORS.MESSAGE_NOT_FOUND(id);
  return row;
}
