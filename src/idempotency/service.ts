import { and, eq, lt, sql } from "drizzle-orm";
import type { DB } from "../db/client";
import { idempotencyKeys } from "./schema";
import { sha256Hex } from "../ids";

export type IdempotencyBegin = { state: "new" } | { state: "replay"; statusCode: number; response: unknown } | { state: "conflict" } | { state: "in_progress" };

export interface IdempotencyScope {
  scope: string;
  userId: string;
  key: string;
  /** Set by `beginIdempotent` when it answers `new`; `complete`/`release` act only on this claim. */
  claim?: string;
}

// A pending claim older than this belongs to a process that died; it may be taken over.
const STALE_PENDING = sql`now() - interval '10 minutes'`;

export const requestHash = (body: unknown) => sha256Hex(JSON.stringify(body ?? null));

/**
 * Claims an Idempotency-Key for one request. The first caller gets `new` and must later call
 * `complete` or `release`; a retry with the same body gets the stored answer, a different body
 * a conflict. The claim is one INSERT, so concurrent retries cannot both proceed.
 */
export async function beginIdempotent(db: DB, s: IdempotencyScope, hash: string): Promise<IdempotencyBegin> {
  await db
    .delete(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.scope, s.scope),
        eq(idempotencyKeys.userId, s.userId),
        eq(idempotencyKeys.key, s.key),
        eq(idempotencyKeys.status, "pending"),
        lt(idempotencyKeys.createdAt, STALE_PENDING),
      ),
    );
  const claim = crypto.randomUUID();
  const inserted = await db
    .insert(idempotencyKeys)
    .values({ scope: s.scope, userId: s.userId, key: s.key, requestHash: hash, claim })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  if (inserted.length === 1) {
    s.claim = claim;
    return { state: "new" };
  }
  const [row] = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.scope, s.scope), eq(idempotencyKeys.userId, s.userId), eq(idempotencyKeys.key, s.key)));
  if (!row) return beginIdempotent(db, s, hash);
  if (row.requestHash !== hash) return { state: "conflict" };
  if (row.status === "done") return { state: "replay", statusCode: row.statusCode ?? 200, response: row.response };
  return { state: "in_progress" };
}

const owned = (s: IdempotencyScope) =>
  and(
    eq(idempotencyKeys.scope, s.scope),
    eq(idempotencyKeys.userId, s.userId),
    eq(idempotencyKeys.key, s.key),
    s.claim === undefined ? undefined : eq(idempotencyKeys.claim, s.claim),
  );

export async function completeIdempotent(db: DB, s: IdempotencyScope, statusCode: number, response: unknown): Promise<void> {
  await db.update(idempotencyKeys).set({ status: "done", statusCode, response }).where(owned(s));
}

/** Frees the key after a failure that charged nothing, so a retry can run for real. */
export async function releaseIdempotent(db: DB, s: IdempotencyScope): Promise<void> {
  await db.delete(idempotencyKeys).where(and(owned(s), eq(idempotencyKeys.status, "pending")));
}
