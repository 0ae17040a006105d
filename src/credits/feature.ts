import type { Recorder } from "../audit/service";
import type { EventHooks } from "../kernel/events";
import { defineFeature } from "../kernel/feature";
import { startReconciler } from "./reconciler";
import { creditsRoutes } from "./routes";
import { Credits } from "./service";
import { CREDIT_ERRORS } from "./errors";

// Often enough that a dead instance's reservations close soon after they expire; cheap when
// nothing is due (one indexed query on status + expires_at).
export const RECONCILE_INTERVAL_MS = 5000;

export interface CreditsServices {
  credits: Credits;
}

/** Balances, the ledger, reservations and their reconciler. */
export const creditsFeature = defineFeature({
  name: "credits",
  errors: CREDIT_ERRORS,
  setup(core, _deps: EventHooks & { audit: { recorder: Recorder } }) {
    const credits = new Credits(core.db, core.metrics);
    const services: CreditsServices = { credits };
    return { services, workers: [startReconciler(credits, core.log, RECONCILE_INTERVAL_MS)] };
  },
  routes: (core, services, deps) => creditsRoutes(core, services.credits, deps.balances, deps.audit.recorder),
});
