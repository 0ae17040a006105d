import type { Recorder } from "../audit/service";
import type { EventHooks } from "../kernel/events";
import { defineFeature } from "../kernel/feature";
import type { UsageRecorder } from "../kernel/usage";
import { ApiTokenRows } from "./registry";
import { adminTokensRoutes } from "./routes";
import { ADMIN_TOKEN_ERRORS } from "./errors";

/** Admin-issued API tokens for the messaging API (admin-api-tokens-and-messaging.md §1). */
export const adminTokensFeature = defineFeature({
  name: "admin-tokens",
  errors: ADMIN_TOKEN_ERRORS,
  setup(core, _deps: EventHooks & { audit: { recorder: Recorder }; usage: { recorder: UsageRecorder } }) {
    const rows = new ApiTokenRows(core.db, core.bus);
    core.authn.plug({ apiTokens: rows });
    return { services: { rows }, workers: [rows.lastUsed.start("api-token-last-used", core.log)] };
  },
  routes: (core, _services, deps) => adminTokensRoutes(core, deps.events, deps.audit.recorder, deps.usage.recorder),
});
