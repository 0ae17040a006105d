import { defineErrors } from "../http/errors";

/** Refusals of the rate-limit gate; rendered in the family of the route that was refused. */
export const RATE_LIMIT_ERRORS = defineErrors({
  EXCEEDED: {
    status: "RATE_LIMITED",
    message: (policy: string, limit: number, windowS: number, retryS: number) => `Rate limit exceeded (${policy}: ${limit} per ${windowS} s); retry in ${retryS} s`,
  },
  // The Stream contract's own words for its per-user token rate.
  STREAM_TOKEN: { status: "RATE_LIMITED", message: "Too many Stream token requests; try again later" },
});
