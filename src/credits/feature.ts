import type { Recorder } from "../audit/service";
import { defineFeature } from "../kernel/feature";
import { startReconciler } from "./reconciler";
import { creditsRoutes } from "./routes";
import { registerCreditMetrics } from "./service";

// Often enough that a dead instance's reservations close soon after they expire; cheap when
// nothing is due (one indexed query on status + expires_at).
export const RECONCILE_INTERVAL_MS = 5000;

/** Balances, the ledger, reservations and their reconciler. */
export const creditsFeature = defineFeature({
  name: "credits",
  setup(core, _deps: { audit: { recorder: Recorder } }) {
    registerCreditMetrics(core.db, core.metrics);
    return { services: {}, workers: [startReconciler(core.db, core.log, RECONCILE_INTERVAL_MS)] };
  },
  routes: (core, _services, deps) => creditsRoutes(core, deps.audit.recorder),
});
