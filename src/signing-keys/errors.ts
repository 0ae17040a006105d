import { defineErrors } from "../http/errors";

/** The signing-keys feature's outcomes. */
export const SIGNING_KEY_ERRORS = defineErrors({
  HS256_NO_KEYS: { status: "CONFLICT", message: "JWT_ALG is HS256: there are no signing keys to rotate (rotate the master secret instead)" },
});
