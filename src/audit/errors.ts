import { defineErrors } from "../http/errors";

/** The audit feature's outcomes (its listing is read-only). */
export const AUDIT_ERRORS = defineErrors({
  BAD_INSTANT: { status: "VALIDATION", message: (name: string) => `${name} must be an ISO 8601 date-time from 0001-01-01 to 9999-12-31 (UTC)` },
  RANGE_ORDER: { status: "VALIDATION", message: "until must not be earlier than since" },
  BAD_CURSOR: { status: "VALIDATION", message: "cursor: must be the next_cursor of a previous page" },
});
