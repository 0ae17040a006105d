import type { Worker } from "../kernel/core";
import { defineFeature } from "../kernel/feature";
import { errorSummary } from "../http/logger";
import { UsageAggregator } from "./aggregator";
import { USAGE_ERRORS } from "./errors";
import { usageRoutes } from "./routes";
import { pruneUsage, UsageFlusher } from "./service";

const PRUNE_MS = 60 * 60_000;

/**
 * Usage over time (issue 19). Features count through `recorder` (the kernel's UsageRecorder,
 * handed to them by app.ts; the kernel's guard and core get it through the authenticator);
 * counts are kept in memory per (hour, user, key, chatflow) and added to usage_rollups every
 * USAGE_FLUSH_MS and at shutdown, one upsert per flush.
 */
export const usageFeature = defineFeature({
  name: "usage",
  errors: USAGE_ERRORS,
  setup(core) {
    const recorder = new UsageAggregator();
    const flusher = new UsageFlusher(core.db, recorder, core.log);
    core.authn.plug({ usage: recorder });
    core.metrics.gauge("chatgate_usage_rows_pending", "Usage rollup rows counted in memory, not yet written", (g) => g.set({}, recorder.size));
    const flushTimer = setInterval(() => void flusher.flushQuietly(), core.config.usageFlushMs);
    flushTimer.unref?.();
    const prune = () => pruneUsage(core.db, core.config.usageRetentionDays).catch((err) => core.log.warn("usage prune failed", { error: errorSummary(err) }));
    const pruneTimer = setInterval(prune, PRUNE_MS);
    pruneTimer.unref?.();
    const worker: Worker = {
      name: "usage",
      async stop() {
        clearInterval(flushTimer);
        clearInterval(pruneTimer);
        // What this instance counted since its last flush is written before the database closes.
        await flusher.flushQuietly();
      },
    };
    return { services: { recorder, flusher }, workers: [worker] };
  },
  routes: (core, services) => usageRoutes(core, services.flusher),
});
