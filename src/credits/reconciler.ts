import { sql } from "drizzle-orm";
import type { Worker } from "../kernel/core";
import { rowsOf, type DB } from "../db/client";
import { errorSummary, type Logger } from "../http/logger";

export const EXPIRED_REASON = "reservation_expired";
const BATCH = 500;

export interface ReconcileResult {
  settled: number;
  refunded: number;
  /** Credits given back by the refunds. */
  refundedCredits: number;
}

/**
 * Closes held reservations whose stream outlived `expires_at` (typically an instance that died
 * mid-request): an answer that had started reaching the client is charged (settled), one that
 * had not is refunded. Rows are claimed with FOR UPDATE SKIP LOCKED and flipped only from
 * `held`, so reconcilers on several instances, or a late settle/refund from the request itself,
 * close each reservation exactly once.
 */
export async function reconcileOnce(db: DB): Promise<ReconcileResult> {
  const settled = rowsOf<{ id: string }>(
    await db.execute(sql`
      update credit_reservations set status = 'settled', settled_at = now()
      where id in (
        select id from credit_reservations
        where status = 'held' and expires_at < now() and started_at is not null
        order by expires_at limit ${BATCH} for update skip locked)
      and status = 'held'
      returning id`),
  ).length;

  // One statement, not a transaction: the balances are locked only while it runs, in user order
  // (`locked`, before any is updated), so two reconcilers touching the same users cannot deadlock.
  const refunds = rowsOf<{ id: string; user_id: string; amount: string | number }>(
    await db.execute(sql`
      with flipped as (
        update credit_reservations set status = 'refunded', settled_at = now()
        where id in (
          select id from credit_reservations
          where status = 'held' and expires_at < now() and started_at is null
          order by expires_at limit ${BATCH} for update skip locked)
        and status = 'held'
        returning id, user_id, amount
      ), per_user as (
        select user_id, sum(amount)::bigint as total from flipped where amount > 0 group by user_id
      ), locked as (
        select b.user_id from credit_balances b join per_user p on p.user_id = b.user_id order by b.user_id for update of b
      ), given_back as (
        update credit_balances set balance = credit_balances.balance + per_user.total, updated_at = now()
        from per_user where credit_balances.user_id = per_user.user_id and (select count(*) from locked) >= 0
      ), ledger as (
        insert into credit_ledger (user_id, delta, kind, reason, reservation_id)
        select user_id, amount, 'refund', ${EXPIRED_REASON}, id from flipped where amount > 0
      )
      select id, user_id, amount from flipped`),
  ).map((r) => ({ id: r.id, userId: r.user_id, amount: Number(r.amount) }));
  return { settled, refunded: refunds.length, refundedCredits: refunds.reduce((s, r) => s + r.amount, 0) };
}

/** Runs reconcileOnce every `intervalMs` until stopped; a failed pass is logged and retried next tick. */
export function startReconciler(credits: { reconcile(): Promise<ReconcileResult> }, log: Logger, intervalMs: number): Worker {
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = credits
      .reconcile()
      .then((r) => {
        if (r.settled || r.refunded) log.info("reservations reconciled", { settled: r.settled, refunded: r.refunded });
      })
      .catch((err: unknown) => log.warn("reservation reconcile failed", { error: errorSummary(err) }))
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(tick, intervalMs);
  return {
    name: "credits-reconciler",
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
