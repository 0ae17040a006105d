import { errorSummary } from "../http/logger";
import { defineFeature } from "../kernel/feature";
import { AUDIT_ERRORS } from "./errors";
import { auditRoutes } from "./routes";
import { pruneEvents, record } from "./service";

const PRUNE_MS = 60 * 60_000;

/**
 * The append-only audit log. Features that record get `recorder` through app.ts and call it with
 * their own transaction, so a change and its row commit together.
 */
export const auditFeature = defineFeature({
  name: "audit",
  errors: AUDIT_ERRORS,
  setup(core) {
    const prune = () => pruneEvents(core.db, core.config.auditRetentionDays).catch((err) => core.log.warn("audit prune failed", { error: errorSummary(err) }));
    const timer = setInterval(prune, PRUNE_MS);
    timer.unref?.();
    return { services: { recorder: record }, workers: [{ name: "audit-retention", stop: async () => clearInterval(timer) }] };
  },
  routes: (core) => auditRoutes(core),
});
