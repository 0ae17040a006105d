import type { Recorder } from "../audit/service";
import type { ChatflowAccessPolicy } from "../chatflows/access";
import type { EventHooks } from "../kernel/events";
import { defineFeature } from "../kernel/feature";
import type { UsageRecorder } from "../kernel/usage";
import type { PolicyStore } from "../rate-limits/policies";
import { keysRoutes } from "./routes";
import { ApiKeyVerifier } from "./verifier";
import { KEY_ERRORS } from "./errors";

/** `sk_live_`/`sk_test_` API keys, their levels, and the brain's 30-minute chat token. */
export const keysFeature = defineFeature({
  name: "keys",
  errors: KEY_ERRORS,
  setup(
    core,
    _deps: { chatflows: { access: ChatflowAccessPolicy }; rateLimits: { policies: PolicyStore }; audit: { recorder: Recorder }; usage: { recorder: UsageRecorder } } & EventHooks,
  ) {
    const verifier = new ApiKeyVerifier(core.db, core.config, core.bus);
    core.authn.plug({ keys: verifier });
    return { services: { verifier }, workers: [verifier.startLastUsedWriter(core.log)] };
  },
  routes: (core, _services, deps) => keysRoutes(core, deps.chatflows.access, deps.events, deps.rateLimits.policies, deps.audit.recorder, deps.usage.recorder),
});
