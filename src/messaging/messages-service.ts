import { and, count, desc, eq, getTableColumns, inArray, isNull, lte, or, sql } from "drizzle-orm";
import type { DB } from "../db/client";
import { contacts, messages, type Message } from "./schema";
import type { UserState } from "../kernel/principal";
import { MESSAGING_ERRORS } from "./errors";
import { ownedBy } from "./owner";
import { audit, type AuditTrail } from "../audit/service";

export interface MessageFilter {
  status?: Message["status"];
  recipientId?: string;
  limit?: number;
  offset?: number;
}

export type ListedMessage = Message & { recipientName: string };

// Every message names its recipient: a contact, deleted with its messages (on delete cascade).
const listed = { ...getTableColumns(messages), recipientName: contacts.name };

/** A sender sees the messages they sent; admins see every message. Newest first. */
export async function listMessages(db: DB, user: UserState, f: MessageFilter) {
  const limit = f.limit ?? 50;
  const offset = f.offset ?? 0;
  const where = and(ownedBy(messages.senderId, user), f.status ? eq(messages.status, f.status) : undefined, f.recipientId ? eq(messages.recipientId, f.recipientId) : undefined);
  const rows = await db
    .select(listed)
    .from(messages)
    .innerJoin(contacts, eq(contacts.id, messages.recipientId))
    .where(where)
    .orderBy(desc(messages.createdAt), desc(messages.id))
    .limit(limit)
    .offset(offset);
  const [total] = await db.select({ n: count() }).from(messages).where(where);
  return { messages: rows, total: total?.n ?? 0, limit, offset };
}

export async function getMessage(db: DB, user: UserState, id: string): Promise<ListedMessage> {
  const [row] = await db
    .select(listed)
    .from(messages)
    .innerJoin(contacts, eq(contacts.id, messages.recipientId))
    .where(and(eq(messages.id, id), ownedBy(messages.senderId, user)));
  if (!row) throw MESSAGING_ERRORS.MESSAGE_NOT_FOUND(id);
  return row;
}

/**
 * Queues a failed or cancelled message again, due now, with a fresh budget of attempts. A failed
 * row has no delivery in flight (the outbox marks it failed from the live claim, and a lapsed
 * claim cannot write back), and the guarded update lets one of two concurrent retries win.
 */
export async function retryMessage(db: DB, user: UserState, id: string, trail?: AuditTrail): Promise<ListedMessage> {
  const changed = await db.transaction(async (tx) => {
    // Locked, so the status read is the one this update replaces (the audit row's "before").
    const [was] = await tx
      .select({ status: messages.status })
      .from(messages)
      .where(and(eq(messages.id, id), ownedBy(messages.senderId, user)))
      .for("update");
    const [row] = await tx
      .update(messages)
      .set({ status: "queued", attempts: 0, nextAttemptAt: sql`now()`, lockedUntil: null, updatedAt: sql`now()` })
      .where(and(eq(messages.id, id), ownedBy(messages.senderId, user), inArray(messages.status, ["failed", "cancelled"])))
      .returning({ id: messages.id });
    if (row) await audit(tx, trail, { action: "message.retried", target: { type: "message", id }, changes: { status: [was?.status ?? null, "queued"] } });
    return row;
  });
  if (!changed) throw MESSAGING_ERRORS.NOT_RETRYABLE((await getMessage(db, user, id)).status);
  return getMessage(db, user, id);
}

/**
 * Takes a queued message out of the queue. A message whose delivery is under way (an unexpired
 * claim, locked_until in the future) is refused: it may already be on the wire. The outbox's
 * claim skips locked rows and its write-back needs status = 'queued', so whichever of the claim
 * and the cancel commits first wins, and a cancelled message is never sent.
 */
export async function cancelMessage(db: DB, user: UserState, id: string, trail?: AuditTrail): Promise<ListedMessage> {
  const changed = await db.transaction(async (tx) => {
    const [row] = await tx
      .update(messages)
      .set({ status: "cancelled", lockedUntil: null, updatedAt: sql`now()` })
      .where(and(eq(messages.id, id), ownedBy(messages.senderId, user), eq(messages.status, "queued"), or(isNull(messages.lockedUntil), lte(messages.lockedUntil, sql`now()`))))
      .returning({ id: messages.id });
    if (row) await audit(tx, trail, { action: "message.cancelled", target: { type: "message", id }, changes: { status: ["queued", "cancelled"] } });
    return row;
  });
  if (changed) return getMessage(db, user, id);
  const now = await getMessage(db, user, id);
  if (now.status === "queued") throw MESSAGING_ERRORS.IN_DELIVERY();
  throw MESSAGING_ERRORS.NOT_CANCELLABLE(now.status);
}
