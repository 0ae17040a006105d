import { defineFeature } from "../kernel/feature";
import { healthRoutes } from "./routes";
import { HEALTH_ERRORS } from "./errors";

/** /healthz, /readyz and /metrics. */
export const healthFeature = defineFeature({ name: "health", errors: HEALTH_ERRORS, routes: (core) => healthRoutes(core) });
