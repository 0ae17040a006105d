import { sql } from "drizzle-orm";
import type { Worker } from "../context";
import { rowsOf, type DB } from "../db/client";
import { errorSummary, type Logger } from "../http/logger";
import { countRefunded } from "./service";

export const EXPIRED_REASON = "reservation_expired";
const BATCH = 500;

export interface ReconcileResult {
  settled: number;
  refunded: number;
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

  const refunds = await db.transaction(async (tx) => {
    const rows = rowsOf<{ id: string; user_id: string; amount: string | number }>(
      await tx.execute(sql`
        update credit_reservations set status = 'refunded', settled_at = now()
        where id in (
          select id from credit_reservations
          where status = 'held' and expires_at < now() and started_at is null
          order by expires_at limit ${BATCH} for update skip locked)
        and status = 'held'
        returning id, user_id, amount`),
    ).map((r) => ({ id: r.id, userId: r.user_id, amount: Number(r.amount) }));
    const perUser = new Map<string, number>();
    for (const r of rows) if (r.amount > 0) perUser.set(r.userId, (perUser.get(r.userId) ?? 0) + r.amount);
    // A stable order keeps two transactions touching the same balances from deadlocking.
    for (const userId of [...perUser.keys()].sort()) {
      await tx.execute(sql`
        update credit_balances set balance = balance + ${perUser.get(userId)!}, updated_at = now()
        where user_id = ${userId}`);
    }
    for (const r of rows) {
      if (r.amount <= 0) continue;
      await tx.execute(sql`
        insert into credit_ledger (user_id, delta, kind, reason, reservation_id)
        values (${r.userId}, ${r.amount}, 'refund', ${EXPIRED_REASON}, ${r.id})`);
    }
    return rows;
  });
  countRefunded(db, refunds.reduce((s, r) => s + r.amount, 0), "expired");
  return { settled, refunded: refunds.length };
}

/** Runs reconcileOnce every `intervalMs` until stopped; a failed pass is logged and retried next tick. */
export function startReconciler(db: DB, log: Logger, intervalMs: number): Worker {
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = reconcileOnce(db)
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
