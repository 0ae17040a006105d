import { audit, type AuditTrail } from "../audit/service";
import { and, desc, eq, gte, sql } from "drizzle-orm";
import type { DB } from "../db/client";
import { creditBalances, creditLedger, creditReservations } from "./schema";
import { users } from "../identity/schema";
import { CREDIT_ERRORS } from "./errors";
import type { Counter, Metrics } from "../http/metrics";
import { newId } from "../ids";
import type { BalanceWatch } from "../kernel/events";
import { reconcileOnce, type ReconcileResult } from "./reconciler";
import { Reservation, type ReservationOwner } from "./reservation";
import type { Balance, LedgerEntry } from "./model";

export { Reservation } from "./reservation";

export interface ReserveInput {
  userId: string;
  amount: number;
  chatflowId: string;
  sessionId?: string | null;
  ttlSec: number;
}

export const predictionReason = (chatflowId: string) => `prediction:${chatflowId}`;

/**
 * Balances, grants, the ledger and reservations, built once per app with its database and
 * metrics (credits/feature.ts). Reservations are handles (`Reservation`): the pipeline holds one
 * per prediction and settles or refunds it through the handle.
 */
export class Credits implements ReservationOwner {
  private readonly reservedTotal: Counter;
  private readonly refundedTotal: Counter;

  constructor(
    readonly db: DB,
    metrics: Metrics,
  ) {
    this.reservedTotal = metrics.counter("chatgate_credits_reserved_total", "Credits reserved for predictions");
    this.refundedTotal = metrics.counter("chatgate_credits_refunded_total", "Credits refunded to users (upstream failures, expired reservations)");
  }

  /**
   * Takes `amount` credits off the balance for one prediction; null when the balance is short.
   * The balance check is the WHERE of one UPDATE, so concurrent callers (on any number of
   * instances) can never overdraw it. A free chatflow (amount 0) still gets a reservation row, so
   * callers treat every prediction alike.
   */
  async reserve(input: ReserveInput): Promise<Reservation | null> {
    const { userId, amount, chatflowId, ttlSec } = input;
    if (!Number.isSafeInteger(amount) || amount < 0) throw new Error("reserve: amount must be a whole number >= 0");
    const id = await this.db.transaction(async (tx): Promise<string | null> => {
      if (amount > 0) {
        const taken = await tx
          .update(creditBalances)
          .set({ balance: sql`${creditBalances.balance} - ${amount}`, updatedAt: sql`now()` })
          .where(and(eq(creditBalances.userId, userId), gte(creditBalances.balance, amount)))
          .returning({ balance: creditBalances.balance });
        if (taken.length === 0) return null;
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
      return reservationId;
    });
    return id === null ? null : this.reserved(id, amount);
  }

  /**
   * The handle for a reservation a caller's own statement just made (the prediction store
   * reserves together with the session and the question, in one statement); counts it.
   */
  reserved(id: string, amount: number): Reservation {
    if (amount > 0) this.reservedTotal.inc({}, amount);
    return new Reservation(this, id);
  }

  /** A handle for an existing reservation (tests, tools); closing it is guarded like any other. */
  reservation(id: string): Reservation {
    return new Reservation(this, id);
  }

  countRefunded(amount: number, reason: string): void {
    if (amount > 0) this.refundedTotal.inc({ reason }, amount);
  }

  /** One reconciler pass (see reconciler.ts), its refunds counted as `expired`. */
  async reconcile(): Promise<ReconcileResult> {
    const r = await reconcileOnce(this.db);
    this.countRefunded(r.refundedCredits, "expired");
    return r;
  }

  balance(userId: string): Promise<Balance> {
    return getBalance(this.db, userId);
  }

  /** `balances`: credits.low is checked in the grant's transaction. */
  grant(input: GrantInput, balances?: BalanceWatch, trail?: AuditTrail): Promise<Balance> {
    return grantCredits(this.db, input, balances, trail);
  }

  ledger(userId: string, page: { limit: number; offset: number }): Promise<{ entries: LedgerEntry[]; count: number }> {
    return listLedger(this.db, userId, page);
  }
}

/** The user's balance; 0 when no credits were ever granted. Unknown user → NOT_FOUND. */
async function getBalance(db: DB, userId: string): Promise<Balance> {
  const [row] = await db
    .select({ id: users.id, createdAt: users.createdAt, balance: creditBalances.balance, updatedAt: creditBalances.updatedAt })
    .from(users)
    .leftJoin(creditBalances, eq(creditBalances.userId, users.id))
    .where(eq(users.id, userId));
  if (!row) throw CREDIT_ERRORS.USER_NOT_FOUND();
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
async function grantCredits(db: DB, input: GrantInput, balances?: BalanceWatch, trail?: AuditTrail): Promise<Balance> {
  const { userId, amount, reason, createdBy } = input;
  if (!Number.isSafeInteger(amount) || amount === 0) throw CREDIT_ERRORS.BAD_AMOUNT();
  await db.transaction(async (tx) => {
    const [user] = await tx.select({ id: users.id }).from(users).where(eq(users.id, userId));
    if (!user) throw CREDIT_ERRORS.USER_NOT_FOUND();
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
      if (taken.length === 0) throw CREDIT_ERRORS.BELOW_ZERO();
    }
    await tx.insert(creditLedger).values({ userId, delta: amount, kind: "grant", reason, createdBy });
    const action = amount > 0 ? "credits.granted" : "credits.corrected";
    await audit(tx, trail, { action, target: { type: "user", id: userId }, changes: { amount: [null, amount], reason: [null, reason] } });
    // credits.low (or its re-arming) in the same transaction as the change.
    await balances?.observe(tx, userId);
  });
  return getBalance(db, userId);
}

/** Newest ledger rows first. Unknown user → NOT_FOUND. */
async function listLedger(db: DB, userId: string, page: { limit: number; offset: number }): Promise<{ entries: LedgerEntry[]; count: number }> {
  const [user] = await db.select({ id: users.id }).from(users).where(eq(users.id, userId));
  if (!user) throw CREDIT_ERRORS.USER_NOT_FOUND();
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
