import type { AppContext, Worker } from "../context";
import { startReconciler } from "./reconciler";
import { registerCreditMetrics } from "./service";

// Often enough that a dead instance's reservations close soon after they expire; cheap when
// nothing is due (one indexed query on status + expires_at).
export const RECONCILE_INTERVAL_MS = 5000;

export async function setupCredits(ctx: AppContext): Promise<Worker[] | void> {
  registerCreditMetrics(ctx.db, ctx.metrics);
  return [startReconciler(ctx.db, ctx.log, RECONCILE_INTERVAL_MS)];
}
