import { defineErrors } from "../http/errors";

/** The audit feature's outcomes (its listing is read-only). */
export const AUDIT_ERRORS = defineErrors({
  BAD_CURSOR: { status: "VALIDATION", message: "cursor: must be the next_cursor of a previous page" },
});
