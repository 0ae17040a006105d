import type { Core, Worker } from "../kernel/core";
import type { EventHooks } from "../kernel/events";
import { defineFeature } from "../kernel/feature";
import { errorSummary } from "../http/logger";
import { RATE_LIMIT_ERRORS } from "./errors";
import { ExceededNotices } from "./exceeded";
import { RateLimitGate } from "./gate";
import { QuotaLedger } from "./ledger";
import { PolicyStore } from "./policies";
import { rateLimitRoutes } from "./routes";

const PRUNE_MS = 5 * 60_000;

/**
 * Quotas per API key, per user and per client address, shared by every instance through the
 * database (see ledger.ts), enforced by a gate the core runs after each route's guard.
 */
function setup(core: Core, deps: Pick<EventHooks, "events">) {
  const ledger = new QuotaLedger(core.db);
  // A user without a quota of their own goes by RATE_LIMIT_USER; a key without one, by its owner's.
  const policies = new PolicyStore(core.db, { user: core.config.rateLimitUser });
  const limited = core.metrics.counter("chatgate_rate_limited_total", "Requests refused with 429 by rate limit policy (key, user, address, stream_token)");
  const notices = new ExceededNotices(core.db, deps.events, core.log);
  const gate = new RateLimitGate({ config: core.config, ledger, policies, limited, notices });
  core.authn.plug({ gate });
  const timer = setInterval(() => {
    notices.prune();
    ledger.prune().catch((err) => core.log.warn("rate limit prune failed", { error: errorSummary(err) }));
  }, PRUNE_MS);
  timer.unref?.();
  const worker: Worker = {
    name: "rate-limits",
    async stop() {
      clearInterval(timer);
      await notices.flush();
      // Unspent slices go back so the other instances may use them in this window.
      await ledger.returnUnspent().catch((err) => core.log.warn("rate limit return failed", { error: errorSummary(err) }));
    },
  };
  return { services: { policies, ledger, gate, notices }, workers: [worker] };
}

export type RateLimitServices = ReturnType<typeof setup>["services"];

export const rateLimitsFeature = defineFeature({
  name: "rate-limits",
  errors: RATE_LIMIT_ERRORS,
  setup,
  routes: (core, services) => rateLimitRoutes(core, services.policies),
});
