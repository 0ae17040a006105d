import { audit, type AuditTrail } from "../audit/service";
import { and, desc, eq, gte, isNull, sql } from "drizzle-orm";
import { rowsOf, type DB } from "../db/client";
import { creditBalances, creditLedger, creditReservations } from "./schema";
import { users } from "../identity/schema";
import { AppError } from "../http/errors";
import type { Counter, Metrics } from "../http/metrics";
import { newId } from "../ids";

export interface Balance {
  user_id: string;
  credits_remaining: number;
  /** ISO 8601: when the balance last changed (the user's creation when it never did). */
  last_updated: string;
}

export type Reservation = { ok: true; reservationId: string } | { ok: false };

export interface ReserveInput {
  userId: string;
  amount: number;
  chatflowId: string;
  sessionId?: string | null;
  ttlSec: number;
}

interface CreditCounters {
  reserved: Counter;
  refunded: Counter;
}

// Services take `db` only (part B calls them with nothing else), so each app's counters are
// found through its db handle; an app registers them in setupCredits.
const countersByDb = new WeakMap<DB, CreditCounters>();

export function registerCreditMetrics(db: DB, metrics: Metrics): void {
  countersByDb.set(db, {
    reserved: metrics.counter("chatgate_credits_reserved_total", "Credits reserved for predictions"),
    refunded: metrics.counter("chatgate_credits_refunded_total", "Credits refunded to users (upstream failures, expired reservations)"),
  });
}

export function countRefunded(db: DB, amount: number, reason: string): void {
  if (amount > 0) countersByDb.get(db)?.refunded.inc({ reason }, amount);
}

export function countReserved(db: DB, amount: number): void {
  if (amount > 0) countersByDb.get(db)?.reserved.inc({}, amount);
}

export const predictionReason = (chatflowId: string) => `prediction:${chatflowId}`;

/**
 * Takes `amount` credits off the balance for one prediction. The balance check is the WHERE of
 * one UPDATE, so concurrent callers (on any number of instances) can never overdraw it.
 * A free chatflow (amount 0) still gets a reservation row, so callers treat every prediction alike.
 */
export async function reserveCredits(db: DB, input: ReserveInput): Promise<Reservation> {
  const { userId, amount, chatflowId, ttlSec } = input;
  if (!Number.isSafeInteger(amount) || amount < 0) throw new Error("reserveCredits: amount must be a whole number >= 0");
  const result = await db.transaction(async (tx): Promise<Reservation> => {
    if (amount > 0) {
      const taken = await tx
        .update(creditBalances)
        .set({ balance: sql`${creditBalances.balance} - ${amount}`, updatedAt: sql`now()` })
        .where(and(eq(creditBalances.userId, userId), gte(creditBalances.balance, amount)))
        .returning({ balance: creditBalances.balance });
      if (taken.length === 0) return { ok: false };
    }
    const reservationId = newId("rsv");
    await tx.insert(creditReservations).values({
      id: reservationId,
      userId,
      amount,
      chatflowId,
      sessionId: input.sessionId ?? null,
      expiresAt: sql`now() + make_interval(secs => ${Math.max(1, Math.floor(ttlSec))})`,
    });
    if (amount > 0) {
      await tx.insert(creditLedger).values({ userId, delta: -amount, kind: "charge", reason: predictionReason(chatflowId), reservationId });
    }
    return { ok: true, reservationId };
  });
  if (result.ok) countReserved(db, amount);
  return result;
}

/** Records that the answer began reaching the client: from now on it is charged, never refunded by the reconciler. */
export async function markStarted(db: DB, reservationId: string): Promise<boolean> {
  const rows = await db
    .update(creditReservations)
    .set({ startedAt: sql`now()` })
    .where(and(eq(creditReservations.id, reservationId), isNull(creditReservations.startedAt)))
    .returning({ id: creditReservations.id });
  return rows.length === 1;
}

/**
 * held → settled: the charge stands. Returns whether this call made the change. `started`: also
 * record (when not yet) that the answer reached the client, in the same statement.
 */
export async function settleReservation(db: DB, reservationId: string, opts: { started?: boolean } = {}): Promise<boolean> {
  const rows = await db
    .update(creditReservations)
    .set({ status: "settled", settledAt: sql`now()`, ...(opts.started ? { startedAt: sql`coalesce(${creditReservations.startedAt}, now())` } : {}) })
    .where(and(eq(creditReservations.id, reservationId), eq(creditReservations.status, "held")))
    .returning({ id: creditReservations.id });
  return rows.length === 1;
}

/**
 * held → refunded, giving the amount back with a ledger row. The status flip is the guard, so
 * a repeated call, or one racing a settle or the reconciler, refunds at most once.
 */
export async function refundReservation(db: DB, reservationId: string, reason: string): Promise<boolean> {
  // One statement, not a transaction: the balance row is locked for this statement only.
  const [row] = rowsOf<{ amount: number | string }>(
    await db.execute(sql`
      with flipped as (
        update credit_reservations set status = 'refunded', settled_at = now()
        where id = ${reservationId} and status = 'held'
        returning user_id, amount
      ), given_back as (
        update credit_balances set balance = credit_balances.balance + flipped.amount, updated_at = now()
        from flipped where flipped.amount > 0 and credit_balances.user_id = flipped.user_id
      ), ledger as (
        insert into credit_ledger (user_id, delta, kind, reason, reservation_id)
        select user_id, amount, 'refund', ${reason}, ${reservationId} from flipped where amount > 0
      )
      select amount from flipped
    `),
  );
  if (!row) return false;
  countRefunded(db, Number(row.amount), "request");
  return true;
}

/** The user's balance; 0 when no credits were ever granted. Unknown user → NOT_FOUND. */
export async function getBalance(db: DB, userId: string): Promise<Balance> {
  const [row] = await db
    .select({ id: users.id, createdAt: users.createdAt, balance: creditBalances.balance, updatedAt: creditBalances.updatedAt })
    .from(users)
    .leftJoin(creditBalances, eq(creditBalances.userId, users.id))
    .where(eq(users.id, userId));
  if (!row) throw new AppError("NOT_FOUND", "User not found");
  return { user_id: row.id, credits_remaining: row.balance ?? 0, last_updated: (row.updatedAt ?? row.createdAt).toISOString() };
}

export interface GrantInput {
  userId: string;
  /** Positive adds credits; negative is an admin correction and may not take the balance below zero. */
  amount: number;
  reason: string;
  createdBy: string | null;
}

/** Changes a balance by an admin's decision, with its ledger row, in one transaction. */
export async function grantCredits(db: DB, input: GrantInput, trail?: AuditTrail): Promise<Balance> {
  const { userId, amount, reason, createdBy } = input;
  if (!Number.isSafeInteger(amount) || amount === 0) throw new AppError("VALIDATION", "amount: must be a non-zero whole number");
  await db.transaction(async (tx) => {
    const [user] = await tx.select({ id: users.id }).from(users).where(eq(users.id, userId));
    if (!user) throw new AppError("NOT_FOUND", "User not found");
    if (amount > 0) {
      await tx
        .insert(creditBalances)
        .values({ userId, balance: amount })
        .onConflictDoUpdate({
          target: creditBalances.userId,
          set: { balance: sql`${creditBalances.balance} + ${amount}`, updatedAt: sql`now()` },
        });
    } else {
      const taken = await tx
        .update(creditBalances)
        .set({ balance: sql`${creditBalances.balance} + ${amount}`, updatedAt: sql`now()` })
        .where(and(eq(creditBalances.userId, userId), gte(creditBalances.balance, -amount)))
        .returning({ balance: creditBalances.balance });
      if (taken.length === 0) throw new AppError("CONFLICT", "Insufficient credits: the balance cannot go below zero");
    }
    await tx.insert(creditLedger).values({ userId, delta: amount, kind: "grant", reason, createdBy });
    const action = amount > 0 ? "credits.granted" : "credits.corrected";
    await audit(tx, trail, { action, target: { type: "user", id: userId }, changes: { amount: [null, amount], reason: [null, reason] } });
  });
  return getBalance(db, userId);
}

export interface LedgerEntry {
  id: number;
  delta: number;
  kind: "grant" | "charge" | "refund";
  reason: string;
  reservation_id: string | null;
  created_by: string | null;
  created_at: string;
}

/** Newest ledger rows first. Unknown user → NOT_FOUND. */
export async function listLedger(db: DB, userId: string, page: { limit: number; offset: number }): Promise<{ entries: LedgerEntry[]; count: number }> {
  const [user] = await db.select({ id: users.id }).from(users).where(eq(users.id, userId));
  if (!user) throw new AppError("NOT_FOUND", "User not found");
  const [total] = await db.select({ n: sql<number>`count(*)::int` }).from(creditLedger).where(eq(creditLedger.userId, userId));
  const rows = await db
    .select()
    .from(creditLedger)
    .where(eq(creditLedger.userId, userId))
    .orderBy(desc(creditLedger.createdAt), desc(creditLedger.id))
    .limit(page.limit)
    .offset(page.offset);
  return {
    count: Number(total?.n ?? 0),
    entries: rows.map((r) => ({
      id: r.id,
      delta: r.delta,
      kind: r.kind,
      reason: r.reason,
      reservation_id: r.reservationId,
      created_by: r.createdBy,
      created_at: r.createdAt.toISOString(),
    })),
  };
}
