import { defineErrors } from "../http/errors";

/** The keys feature's outcomes (API keys and the brain's chat token). */
export const KEY_ERRORS = defineErrors({
  KEY_NOT_FOUND: { status: "NOT_FOUND", message: "API key not found" },
  USER_NOT_FOUND: { status: "NOT_FOUND", message: "User not found" },
  BAD_DOMAIN: { status: "VALIDATION", message: "allowed_domains must be a list of host names or *.host patterns" },
  BAD_EXPIRY: { status: "VALIDATION", message: "expires_at must be an ISO 8601 date-time" },
  PAST_EXPIRY: { status: "VALIDATION", message: "expires_at must be in the future" },
  LEVEL_TOO_HIGH: { status: "FORBIDDEN", message: "You can create API keys up to level write" },
  KEY_REVOKED_CANNOT_ROLL: { status: "CONFLICT", message: "A revoked API key cannot be rolled" },
});
