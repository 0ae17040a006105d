import { defineErrors } from "../http/errors";

/**
 * The identity feature's outcomes: sign-in, users, revocation, and the password rules (whose
 * messages `passwordProblem` also hands to the CLI and the config check as plain text).
 */
export const IDENTITY_ERRORS = defineErrors({
  BAD_LOGIN: { status: "UNAUTHENTICATED", message: "Incorrect username or password" },
  LOGIN_THROTTLED: { status: "RATE_LIMITED", message: "Too many failed login attempts. Try again later." },
  AUTH_SERVICE_UNAVAILABLE: { status: "UNAVAILABLE", message: "Authentication service unavailable" },
  EXTERNAL_EMAIL_CONFLICT: {
    status: "UNAUTHENTICATED",
    message:
      "This email belongs to an account of this service that cannot be signed in through the external authentication service; sign in with its password or ask an administrator",
  },
  EMAIL_TAKEN: { status: "CONFLICT", message: "This email belongs to another account" },
  USER_EXISTS: { status: "CONFLICT", message: "A user with this email or username already exists" },
  USER_NOT_FOUND: { status: "NOT_FOUND", message: "User not found" },
  SELF_DEMOTION: { status: "BAD_REQUEST", message: "You cannot disable or demote your own account" },
  CURRENT_PASSWORD_WRONG: { status: "FORBIDDEN", message: "The current password is not correct" },
  PASSWORD_CHANGED_MEANWHILE: { status: "CONFLICT", message: "The password was changed by another request meanwhile; nothing was changed" },
  // A number or a 5000-character string is not "missing": say what the field must be.
  OWN_PASSWORD_FIELD: { status: "VALIDATION", message: (field: string) => `${field}: required, a string of at most 4096 characters` },
  SAME_PASSWORD: { status: "VALIDATION", message: "new_password: must differ from the current password" },
  TOKEN_NOT_FOUND: { status: "NOT_FOUND", message: "Token not found" },
  TOKEN_OR_ALL: { status: "BAD_REQUEST", message: "Give either token_id or all_tokens, not both" },
  API_KEYS_NEED_ALL: { status: "BAD_REQUEST", message: "include_api_keys needs all_tokens: true" },
  /** A new password `passwordProblem` refused; the message is the problem it named (below). */
  WEAK_PASSWORD: { status: "VALIDATION", message: (problem: string) => problem },
  PASSWORD_TOO_SHORT: { status: "VALIDATION", message: (min: number) => `Password must be at least ${min} characters` },
  PASSWORD_TOO_LONG: { status: "VALIDATION", message: (max: number) => `Password must be at most ${max} characters` },
  PASSWORD_CONTROL_CHARACTERS: { status: "VALIDATION", message: "Password must not contain control characters" },
  PASSWORD_WHITESPACE: { status: "VALIDATION", message: "Password must not be only spaces" },
  PASSWORD_COMMON: {
    status: "VALIDATION",
    message: "Password is too common: it is on a list of the most used passwords (or a simple variant of one); choose another",
  },
  PASSWORD_REPEAT: { status: "VALIDATION", message: "Password is too easy to guess: it repeats the same characters; choose another" },
  PASSWORD_SEQUENCE: { status: "VALIDATION", message: "Password is too easy to guess: it is a sequence (like abcd or 1234); choose another" },
  PASSWORD_KEYBOARD: { status: "VALIDATION", message: "Password is too easy to guess: it is a keyboard pattern; choose another" },
  PASSWORD_DATE: { status: "VALIDATION", message: "Password is too easy to guess: it is a date or a year; choose another" },
  PASSWORD_GUESSABLE: { status: "VALIDATION", message: "Password is too easy to guess; choose a longer or less predictable one" },
});
