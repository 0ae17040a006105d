import { defineErrors } from "../http/errors";

/** The health feature's outcomes. */
export const HEALTH_ERRORS = defineErrors({
  METRICS_UNAUTHORIZED: { status: "UNAUTHENTICATED", message: "Metrics require the METRICS_TOKEN bearer token or an admin's access token" },
});
