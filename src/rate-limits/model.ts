import { t } from "elysia";
import { closed } from "../http/closed-objects";

/** A quota as the API writes it: `limit` units per `window_s` seconds. */
export const rateLimitBody = closed(
  t.Object(
    {
      limit: t.Integer({ minimum: 1, maximum: 1_000_000_000, error: "rate_limit.limit must be a whole number from 1 to 1000000000" }),
      window_s: t.Integer({ minimum: 1, maximum: 86400, error: "rate_limit.window_s must be a whole number of seconds from 1 to 86400" }),
    },
    { error: "rate_limit must be {limit, window_s} or null" },
  ),
);

/** In request bodies: a quota, or null for "none of its own" (a key then goes by its owner's). */
export const rateLimitField = t.Optional(t.Nullable(rateLimitBody));

export type RateLimitBody = { limit: number; window_s: number };
