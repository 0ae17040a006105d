import { defineErrors } from "../http/errors";

/** RFC 6749 §5.2-style outcomes of introspection and revocation (rendered in the `oauth` family). */
export const OAUTH_ERRORS = defineErrors({
  TOKEN_REQUIRED: { status: "BAD_REQUEST", message: "token is required" },
  BAD_HINT: { status: "BAD_REQUEST", message: "token_type_hint must be a string" },
  INVALID_CLIENT: {
    status: "UNAUTHENTICATED",
    message: "Client authentication failed: an admin access token or an API key with the introspect scope is required",
  },
});
