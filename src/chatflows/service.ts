import { audit, diff, type AuditTrail } from "../audit/service";
import { and, asc, count, desc, eq, sql } from "drizzle-orm";
import type { DB } from "../db/client";
import { chatflowAccess, chatflows, type Chatflow } from "./schema";
import { users } from "../identity/schema";
import { CHATFLOW_ERRORS } from "./errors";
import type { UserState } from "../kernel/principal";
import type { AdminChatflow, ChatflowInput, ChatflowPatch } from "./model";

/** Duplicates dropped, order kept; undefined stays undefined (PATCH: unchanged). */
const keyList = (keys: string[] | null | undefined) => (keys ? [...new Set(keys)] : keys);

const userCount = sql<number>`(select count(*)::int from ${chatflowAccess} where ${chatflowAccess.chatflowId} = ${chatflows.id})`;

function view(c: Chatflow, count: number): AdminChatflow {
  return {
    id: c.id,
    name: c.name,
    cost: c.cost,
    enabled: c.enabled,
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
    synced_at: c.syncedAt?.toISOString() ?? null,
    override_allow: c.overrideAllow ?? null,
    user_count: Number(count),
  };
}

async function getView(db: DB, id: string): Promise<AdminChatflow> {
  const [row] = await db.select({ c: chatflows, n: userCount }).from(chatflows).where(eq(chatflows.id, id));
  if (!row) throw CHATFLOW_ERRORS.CHATFLOW_NOT_FOUND();
  return view(row.c, row.n);
}

const fieldsOf = (r: typeof chatflows.$inferSelect) => ({ name: r.name, cost: r.cost, enabled: r.enabled, override_allow: r.overrideAllow });

export async function createChatflow(db: DB, input: ChatflowInput, trail?: AuditTrail): Promise<AdminChatflow> {
  return db.transaction(async (tx) => {
    const inserted = await tx
      .insert(chatflows)
      .values({ id: input.id, name: input.name, cost: input.cost ?? 1, enabled: input.enabled ?? true, overrideAllow: keyList(input.override_allow) ?? null })
      .onConflictDoNothing()
      .returning();
    if (inserted.length === 0) throw CHATFLOW_ERRORS.CHATFLOW_EXISTS();
    const row = inserted[0]!;
    await audit(tx, trail, { action: "chatflow.created", target: { type: "chatflow", id: row.id }, changes: diff({}, fieldsOf(row)) });
    return view(row, 0);
  });
}

export async function listChatflows(db: DB, page: { limit: number; offset: number }) {
  const [total] = await db.select({ n: sql<number>`count(*)::int` }).from(chatflows);
  const rows = await db.select({ c: chatflows, n: userCount }).from(chatflows).orderBy(asc(chatflows.name), asc(chatflows.id)).limit(page.limit).offset(page.offset);
  return { chatflows: rows.map((r) => view(r.c, r.n)), count: Number(total?.n ?? 0), ...page };
}

export async function updateChatflow(db: DB, id: string, patch: ChatflowPatch, trail?: AuditTrail): Promise<AdminChatflow> {
  const set: Partial<typeof chatflows.$inferInsert> = {};
  if (patch.override_allow !== undefined) set.overrideAllow = keyList(patch.override_allow);
  if (patch.name !== undefined) set.name = patch.name;
  if (patch.cost !== undefined) set.cost = patch.cost;
  if (patch.enabled !== undefined) set.enabled = patch.enabled;
  await db.transaction(async (tx) => {
    const [before] = await tx.select().from(chatflows).where(eq(chatflows.id, id)).for("update");
    if (!before) throw CHATFLOW_ERRORS.CHATFLOW_NOT_FOUND();
    const [after] = await tx
      .update(chatflows)
      .set({ ...set, updatedAt: sql`now()` })
      .where(eq(chatflows.id, id))
      .returning();
    const changes = diff(fieldsOf(before), fieldsOf(after!));
    if (Object.keys(changes).length > 0) await audit(tx, trail, { action: "chatflow.changed", target: { type: "chatflow", id }, changes });
  });
  return getView(db, id);
}

/** Grants go with the chatflow (ON DELETE CASCADE); sessions and reservations keep its id as history. */
export async function deleteChatflow(db: DB, id: string, trail?: AuditTrail): Promise<void> {
  await db.transaction(async (tx) => {
    const deleted = await tx.delete(chatflows).where(eq(chatflows.id, id)).returning();
    if (deleted.length === 0) throw CHATFLOW_ERRORS.CHATFLOW_NOT_FOUND();
    await audit(tx, trail, { action: "chatflow.deleted", target: { type: "chatflow", id }, changes: { name: [deleted[0]!.name, null] } });
  });
}

async function requireChatflowAndUser(db: DB, chatflowId: string, userId: string): Promise<void> {
  const [flow] = await db.select({ id: chatflows.id }).from(chatflows).where(eq(chatflows.id, chatflowId));
  if (!flow) throw CHATFLOW_ERRORS.CHATFLOW_NOT_FOUND();
  const [user] = await db.select({ id: users.id }).from(users).where(eq(users.id, userId));
  if (!user) throw CHATFLOW_ERRORS.USER_NOT_FOUND();
}

/** Idempotent: `created` tells a new grant from one that already existed. */
export async function grantAccess(db: DB, chatflowId: string, userId: string, trail?: AuditTrail): Promise<{ created: boolean }> {
  await requireChatflowAndUser(db, chatflowId, userId);
  return db.transaction(async (tx) => {
    const inserted = await tx.insert(chatflowAccess).values({ chatflowId, userId }).onConflictDoNothing().returning({ userId: chatflowAccess.userId });
    // A grant that already existed changes nothing and leaves no row.
    if (inserted.length === 1) await audit(tx, trail, { action: "chatflow.granted", target: { type: "chatflow", id: chatflowId }, changes: { user_id: [null, userId] } });
    return { created: inserted.length === 1 };
  });
}

/** Idempotent: withdrawing access that was never granted is not an error. */
export async function revokeAccess(db: DB, chatflowId: string, userId: string, trail?: AuditTrail): Promise<{ removed: boolean }> {
  await requireChatflowAndUser(db, chatflowId, userId);
  return db.transaction(async (tx) => {
    const removed = await tx
      .delete(chatflowAccess)
      .where(and(eq(chatflowAccess.chatflowId, chatflowId), eq(chatflowAccess.userId, userId)))
      .returning({ userId: chatflowAccess.userId });
    if (removed.length === 1) await audit(tx, trail, { action: "chatflow.withdrawn", target: { type: "chatflow", id: chatflowId }, changes: { user_id: [userId, null] } });
    return { removed: removed.length === 1 };
  });
}

/** The users granted a chatflow (admins may use every chatflow without a grant), by email. */
export async function listGrantedUsers(db: DB, chatflowId: string, page: { limit: number; offset: number }) {
  const [flow] = await db.select({ id: chatflows.id }).from(chatflows).where(eq(chatflows.id, chatflowId));
  if (!flow) throw CHATFLOW_ERRORS.CHATFLOW_NOT_FOUND();
  const rows = await db
    .select({ id: users.id, email: users.email, name: users.name, role: users.role, granted_at: chatflowAccess.createdAt })
    .from(chatflowAccess)
    .innerJoin(users, eq(users.id, chatflowAccess.userId))
    .where(eq(chatflowAccess.chatflowId, chatflowId))
    .orderBy(desc(chatflowAccess.createdAt), desc(chatflowAccess.userId))
    .limit(page.limit)
    .offset(page.offset);
  const [all] = await db.select({ n: count() }).from(chatflowAccess).where(eq(chatflowAccess.chatflowId, chatflowId));
  const list = rows.map((r) => ({ ...r, granted_at: r.granted_at.toISOString() }));
  return { chatflow_id: chatflowId, users: list, count: all?.n ?? 0, ...page };
}

/** What the caller may predict with: enabled chatflows, all of them for admins, granted ones otherwise. */
export async function chatflowsForUser(db: DB, user: Pick<UserState, "id" | "role">) {
  const cols = { id: chatflows.id, name: chatflows.name, cost: chatflows.cost };
  const rows =
    user.role === "admin"
      ? await db.select(cols).from(chatflows).where(eq(chatflows.enabled, true)).orderBy(asc(chatflows.name), asc(chatflows.id))
      : await db
          .select(cols)
          .from(chatflows)
          .innerJoin(chatflowAccess, and(eq(chatflowAccess.chatflowId, chatflows.id), eq(chatflowAccess.userId, user.id)))
          .where(eq(chatflows.enabled, true))
          .orderBy(asc(chatflows.name), asc(chatflows.id));
  return { chatflows: rows, count: rows.length };
}
