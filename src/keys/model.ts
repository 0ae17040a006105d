import { t } from "elysia";
import { MAX_KEY_ROLL_GRACE_SEC } from "../config";
import { cursorField, pageFields } from "../http/paging";

/** Keys per page when the request names no limit (the total is in X-Total-Count). */
export const KEYS_PAGE = 100;

const level = t.Union([t.Literal("read"), t.Literal("write"), t.Literal("admin")], {
  error: "level must be one of read, write, admin",
});
const environment = t.Union([t.Literal("live"), t.Literal("test")], { error: "environment must be live or test" });
const domains = t.Array(t.String({ maxLength: 253 }), {
  maxItems: 50,
  error: "allowed_domains must be a list of host names or *.host patterns",
});
const expiresAt = t.Nullable(t.String({ format: "date-time", error: "expires_at must be an ISO 8601 date-time" }));
const name = t.String({ minLength: 1, maxLength: 200, error: "name must be 1 to 200 characters" });

export const keysModels = {
  "keys.adminCreate": t.Object({
    name,
    user_id: t.String({ minLength: 1, maxLength: 100, error: "user_id is required" }),
    level,
    allowed_domains: t.Optional(domains),
    environment: t.Optional(environment),
    expires_at: t.Optional(expiresAt),
  }),
  // Optional as a whole: the brain contract's clients call `POST /api-key` with no body at all.
  "keys.userCreate": t.Optional(
    t.Object({
      name: t.Optional(name),
      level: t.Optional(level),
      allowed_domains: t.Optional(domains),
      environment: t.Optional(environment),
      expires_at: t.Optional(expiresAt),
    }),
  ),
  /** The only response that ever carries the key itself. */
  "keys.created": t.Object({
    id: t.String(),
    name: t.String(),
    level,
    key: t.String(),
    created_at: t.String(),
    expires_at: t.Nullable(t.String()),
    allowed_domains: t.Array(t.String()),
  }),
  // Optional as a whole: no body rolls with the configured grace (KEY_ROLL_GRACE).
  "keys.roll": t.Optional(
    t.Object({
      grace_s: t.Optional(
        t.Integer({ minimum: 0, maximum: MAX_KEY_ROLL_GRACE_SEC, error: `grace_s must be a whole number of seconds from 0 to ${MAX_KEY_ROLL_GRACE_SEC}` }),
      ),
    }),
  ),
  /** The new secret, shown once, and when the one it replaced stops working. */
  "keys.rolled": t.Object({
    id: t.String(),
    name: t.String(),
    level,
    key: t.String(),
    created_at: t.String(),
    expires_at: t.Nullable(t.String()),
    allowed_domains: t.Array(t.String()),
    previous_key_expires_at: t.String(),
  }),
  "keys.listed": t.Array(
    t.Object({
      id: t.String(),
      user_id: t.String(),
      name: t.String(),
      level,
      environment,
      start: t.String(),
      allowed_domains: t.Array(t.String()),
      created_at: t.String(),
      expires_at: t.Nullable(t.String()),
      revoked_at: t.Nullable(t.String()),
      last_used_at: t.Nullable(t.String()),
    }),
  ),
  "keys.revoked": t.Object({ message: t.String() }),
  "keys.validated": t.Object({ valid: t.Boolean(), level, name: t.String() }),
  "keys.chatToken": t.Object({ token: t.String(), expires_in: t.Integer() }),
  "keys.listQuery": t.Object({ user_id: t.Optional(t.String({ maxLength: 100 })), ...pageFields(1000, KEYS_PAGE), ...cursorField }),
  "keys.pageQuery": t.Object({ ...pageFields(1000, KEYS_PAGE), ...cursorField }),
  "keys.brainQuery": t.Object({
    brain_id: t.String({ format: "uuid", error: "brain_id must be a UUID" }),
  }),
};
