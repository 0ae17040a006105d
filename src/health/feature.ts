import { defineFeature } from "../kernel/feature";
import { healthRoutes } from "./routes";

/** /healthz, /readyz and /metrics. */
export const healthFeature = defineFeature({ name: "health", routes: (core) => healthRoutes(core) });
