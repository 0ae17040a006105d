import { defineErrors } from "../http/errors";

/** The usage API's outcomes: query ranges it refuses (each family renders VALIDATION as 400 here). */
export const USAGE_ERRORS = defineErrors({
  RANGE_ORDER: { status: "VALIDATION", message: "until must be later than since" },
  RANGE_TOO_WIDE: { status: "VALIDATION", message: (granularity: string, days: number) => `since to until may span at most ${days} days with granularity=${granularity}` },
  TOO_MANY_POINTS: {
    status: "VALIDATION",
    message: (max: number) => `the answer would hold more than ${max} points: narrow since to until, use granularity=day, or pick one id`,
  },
  ID_NEEDS_GROUP: { status: "VALIDATION", message: "id needs group_by user, key or chatflow" },
  INSTANT_OUT_OF_RANGE: { status: "VALIDATION", message: (name: string) => `${name} must fall between 0001-01-01 and 9999-12-31 (UTC)` },
  BAD_INSTANT: { status: "VALIDATION", message: (name: string) => `${name} must be an ISO 8601 date (2026-11-30) or date-time with a zone (2026-11-30T00:00:00Z)` },
});
