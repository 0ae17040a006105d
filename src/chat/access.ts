import { and, eq } from "drizzle-orm";
import type { DB } from "../db/client";
import { chatflowAccess, chatflows, type Chatflow } from "../db/schema";
import type { UserState } from "../identity/user-cache";

export type ChatflowAccess =
  | { ok: true; chatflow: Chatflow }
  | { ok: false; code: "NOT_FOUND" | "FORBIDDEN"; message: string };

/** A chatflow (= brain) is usable when it exists, is enabled, and the user is an admin or was granted it. */
export async function chatflowForUser(db: DB, user: Pick<UserState, "id" | "role">, chatflowId: string): Promise<ChatflowAccess> {
  const [row] = await db
    .select({ chatflow: chatflows, grantee: chatflowAccess.userId })
    .from(chatflows)
    .leftJoin(chatflowAccess, and(eq(chatflowAccess.chatflowId, chatflows.id), eq(chatflowAccess.userId, user.id)))
    .where(eq(chatflows.id, chatflowId));
  if (!row) return { ok: false, code: "NOT_FOUND", message: "Chatflow not found" };
  if (!row.chatflow.enabled) return { ok: false, code: "FORBIDDEN", message: "Chatflow is disabled" };
  if (user.role !== "admin" && row.grantee === null) {
    return { ok: false, code: "FORBIDDEN", message: "You do not have access to this chatflow" };
  }
  return { ok: true, chatflow: row.chatflow };
}
