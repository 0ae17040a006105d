import { t } from "elysia";

/** How far back a query reaches when it names no `since`: one day of hours, or 30 days. */
export const DEFAULT_SPAN_MS = { hour: 24 * 3_600_000, day: 30 * 86_400_000 } as const;
/** The widest range one query may ask for: 31 days of hours (744 buckets), or 366 days. */
export const MAX_SPAN_MS = { hour: 31 * 86_400_000, day: 366 * 86_400_000 } as const;

/**
 * The most points one answer may hold. A range is bounded (744 hours or 367 days), but grouped by
 * key or user it multiplies by how many were active: 300 keys busy every hour of a month were
 * 223,200 points, 61 MB of JSON and 14 s. Past this the query is refused in words instead.
 */
export const MAX_POINTS = 20_000;

/** A date (UTC midnight) or a date-time with its zone: a zoneless time would depend on the host. */
export const INSTANT_PATTERN = "^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|z|[+-]\\d{2}:?\\d{2}))?$";

const instant = (name: string) =>
  t.Optional(
    t.String({
      pattern: INSTANT_PATTERN,
      maxLength: 40,
      error: `${name} must be an ISO 8601 date (2026-11-30) or date-time with a zone (2026-11-30T00:00:00Z)`,
      description: "ISO 8601 date (UTC midnight) or date-time with Z or an offset",
    }),
  );

export const usageQuery = t.Object({
  group_by: t.Optional(
    t.Union([t.Literal("none"), t.Literal("user"), t.Literal("key"), t.Literal("chatflow")], {
      error: "group_by must be none, user, key or chatflow",
      description: "Split each bucket by user, API key or chatflow; none (default) sums them",
    }),
  ),
  granularity: t.Optional(t.Union([t.Literal("hour"), t.Literal("day")], { error: "granularity must be hour or day", description: "Bucket width (UTC); hour by default" })),
  since: instant("since"),
  until: instant("until"),
  id: t.Optional(
    t.String({
      minLength: 1,
      maxLength: 200,
      pattern: "^[A-Za-z0-9._:-]+$",
      error: "id must be a user, key or chatflow id (1 to 200 letters, digits, '.', '_', ':', '-')",
      description: "Only this user, key or chatflow (the dimension group_by names)",
    }),
  ),
});
export type UsageQuery = typeof usageQuery.static;

const n = t.Integer({ minimum: 0 });

export const usagePoint = t.Object({
  /** Start of the bucket (UTC). */
  bucket: t.String({ format: "date-time", description: "Start of the bucket (UTC)" }),
  id: t.Nullable(t.String({ description: "The user, key or chatflow id (group_by); null for group_by=none and for usage with none (anonymous, no key, no chatflow)" })),
  requests: t.Integer({ minimum: 0, description: "Authenticated requests (a rate-limited one included)" }),
  predictions: t.Integer({ minimum: 0, description: "Predictions and brain questions that reached the pipeline, failed ones included" }),
  failed_predictions: t.Integer({ minimum: 0, description: "Predictions that ended without a charged answer (refunded, upstream error, too few credits)" }),
  credits_spent: t.Integer({ minimum: 0, description: "Credits charged by settled predictions" }),
  tokens_issued: t.Integer({ minimum: 0, description: "Sum of tokens_by_kind" }),
  tokens_by_kind: t.Object({ access: n, refresh: n, chat: n, stream: n, api: n }),
  rate_limited: t.Integer({ minimum: 0, description: "Requests refused 429 by a rate limit policy" }),
  logins: t.Integer({ minimum: 0, description: "Successful logins" }),
  failed_logins: t.Integer({ minimum: 0, description: "Refused and throttled logins" }),
  errors: t.Integer({ minimum: 0, description: "Responses with status 400 to 599" }),
  server_errors: t.Integer({ minimum: 0, description: "Responses with status 500 to 599" }),
});
export type UsagePoint = typeof usagePoint.static;

export const usageSeries = t.Object({
  group_by: t.String(),
  granularity: t.String(),
  since: t.String({ format: "date-time", description: "Start of the first bucket asked for (since rounded down to its bucket)" }),
  until: t.String({ format: "date-time", description: "End of the range (exclusive)" }),
  series: t.Array(usagePoint, { description: "Buckets with any usage, oldest first, then by id; empty buckets are left out" }),
});
export type UsageSeries = typeof usageSeries.static;

// The names of the document's components (routes refer to the consts).
export const usageModels = {
  "usage.query": usageQuery,
  "usage.series": usageSeries,
};
