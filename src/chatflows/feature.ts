import type { Recorder } from "../audit/service";
import { defineFeature } from "../kernel/feature";
import { ChatflowAccessPolicy } from "./access";
import { chatflowsRoutes } from "./routes";
import { CHATFLOW_ERRORS } from "./errors";

/** Chatflows (brains), their cost and grants, synced from Flowise; who may ask which one. */
export const chatflowsFeature = defineFeature({
  name: "chatflows",
  errors: CHATFLOW_ERRORS,
  setup(core, _deps: { audit: { recorder: Recorder } }) {
    const access = new ChatflowAccessPolicy(core.db);
    // Admin changes on any instance reach every instance's cache through the bus.
    core.bus.onEvent((e) => {
      if (e.kind === "chatflow") access.forget(e.subject);
    });
    return { services: { access } };
  },
  routes: (core, _services, deps) => chatflowsRoutes(core, deps.audit.recorder),
});
