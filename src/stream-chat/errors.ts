import { defineErrors } from "../http/errors";

/** POST /stream-chat/token's outcomes (its 401 wording is the stream family's, in HTTP_ERRORS). */
export const STREAM_ERRORS = defineErrors({
  CUSTOMER_MISMATCH: { status: "FORBIDDEN", message: "Customer ID does not match authenticated user" },
  NOT_CONFIGURED: { status: "UNAVAILABLE", message: "Stream Chat is not configured" },
  BAD_CUSTOMER_ID: { status: "BAD_REQUEST", message: "customer_id must be a positive integer" },
  AUDIT_FAILED: { status: "UNAVAILABLE", message: "Stream token could not be recorded; try again" },
});
