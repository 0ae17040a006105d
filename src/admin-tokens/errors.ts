import { defineErrors } from "../http/errors";

/** The admin-token API's outcomes (answered in the admin body, invalid input as 400). */
export const ADMIN_TOKEN_ERRORS = defineErrors({
  USER_ID_REQUIRED: { status: "BAD_REQUEST", message: "User ID is required" },
  USER_ID_NOT_STRING: { status: "BAD_REQUEST", message: "User ID must be a string" },
  BAD_EXPIRATION: { status: "BAD_REQUEST", message: "Expiration must be an ISO-8601 date or null" },
  PAST_EXPIRATION: { status: "BAD_REQUEST", message: "Expiration must be in the future" },
  USER_NOT_FOUND: { status: "NOT_FOUND", message: "User not found" },
  USER_DISABLED: { status: "BAD_REQUEST", message: "User is disabled" },
  BAD_DESCRIPTION: { status: "BAD_REQUEST", message: "Description must be text of at most 200 characters, without control characters" },
  TOKEN_NOT_FOUND: { status: "NOT_FOUND", message: "Token not found" },
});
