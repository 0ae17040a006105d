import { t } from "elysia";
import { MAX_KEY_ROLL_GRACE_SEC } from "../config";
import { closed } from "../http/closed-objects";
import { cursorField, pageFields } from "../http/paging";
import { KEY_ERRORS } from "./errors";
import { rateLimitBody, rateLimitField } from "../rate-limits/model";

/** Keys per page when the request names no limit (the total is in X-Total-Count). */
export const KEYS_PAGE = 100;

const level = t.Union([t.Literal("read"), t.Literal("write"), t.Literal("admin")], {
  error: "level must be one of read, write, admin",
});
const environment = t.Union([t.Literal("live"), t.Literal("test")], { error: "environment must be live or test" });
const domains = t.Array(t.String({ maxLength: 253 }), {
  maxItems: 50,
  error: KEY_ERRORS.BAD_DOMAIN.message,
});
const expiresAt = t.Nullable(t.String({ format: "date-time", error: KEY_ERRORS.BAD_EXPIRY.message }));
const name = t.String({ minLength: 1, maxLength: 200, error: "name must be 1 to 200 characters" });

export const adminCreate = t.Object({
  name,
  user_id: t.String({ minLength: 1, maxLength: 100, error: "user_id is required" }),
  level,
  allowed_domains: t.Optional(domains),
  environment: t.Optional(environment),
  expires_at: t.Optional(expiresAt),
  scopes: t.Optional(t.Array(t.Literal("introspect"), { maxItems: 1, uniqueItems: true, error: 'scopes must be a list of known scopes: "introspect"' })),
  rate_limit: rateLimitField,
});
export type AdminCreate = typeof adminCreate.static;

// Optional as a whole: the brain contract's clients call `POST /api-key` with no body at all.
export const userCreate = t.Optional(
  t.Object({
    name: t.Optional(name),
    level: t.Optional(level),
    allowed_domains: t.Optional(domains),
    environment: t.Optional(environment),
    expires_at: t.Optional(expiresAt),
    rate_limit: rateLimitField,
  }),
);

// What every answer carrying a new secret says about the key (creation and roll).
const issuedKey = {
  id: t.String(),
  name: t.String(),
  level,
  key: t.String(),
  created_at: t.String(),
  expires_at: t.Nullable(t.String()),
  allowed_domains: t.Array(t.String()),
  scopes: t.Optional(t.Array(t.String())),
};

/** The only response that ever carries the key itself. */
export const created = t.Object({
  ...issuedKey,
  /** Present when the request set one. */
  rate_limit: t.Optional(t.Nullable(rateLimitBody)),
});
export type KeyCreated = typeof created.static;

// Optional as a whole: no body rolls with the configured grace (KEY_ROLL_GRACE).
export const roll = t.Optional(
  t.Object({
    grace_s: t.Optional(t.Integer({ minimum: 0, maximum: MAX_KEY_ROLL_GRACE_SEC, error: `grace_s must be a whole number of seconds from 0 to ${MAX_KEY_ROLL_GRACE_SEC}` })),
  }),
);
export type KeyRoll = typeof roll.static;

/** The new secret, shown once, and when the one it replaced stops working. */
export const rolled = t.Object({ ...issuedKey, previous_key_expires_at: t.String() });
export type KeyRolled = typeof rolled.static;

export const listedKey = t.Object({
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
});
export type ListedKey = typeof listedKey.static;
export const listed = t.Array(listedKey);

/** The admin list also names each key's owner, so one list of every key needs no second lookup. */
export const adminListedKey = t.Object({ ...listedKey.properties, user_email: t.Nullable(t.String()) });
export type AdminListedKey = typeof adminListedKey.static;
export const adminListed = t.Array(adminListedKey);

/** null: the key has no quota of its own (its owner's applies). */
export const patch = closed(t.Object({ rate_limit: t.Nullable(rateLimitBody) }));
export const patched = t.Object({ id: t.String(), rate_limit: t.Nullable(rateLimitBody) });

export const revoked = t.Object({ message: t.String() });
export const validated = t.Object({ valid: t.Boolean(), level, name: t.String() });
export const chatToken = t.Object({ token: t.String(), expires_in: t.Integer() });
export const keyStatus = t.Union([t.Literal("active"), t.Literal("revoked"), t.Literal("expired")], { error: "status must be one of active, revoked, expired" });
export const listQuery = t.Object({
  user_id: t.Optional(t.String({ maxLength: 100, error: "user_id: at most 100 characters" })),
  q: t.Optional(
    t.String({ maxLength: 200, description: "the key's id, part of its name, its owner's email or name, or the key's first characters", error: "q: at most 200 characters" }),
  ),
  level: t.Optional(level),
  environment: t.Optional(environment),
  status: t.Optional(keyStatus),
  ...pageFields(1000, KEYS_PAGE),
  ...cursorField,
});
export const pageQuery = t.Object({ ...pageFields(1000, KEYS_PAGE), ...cursorField });
export const brainQuery = t.Object({
  brain_id: t.String({ format: "uuid", error: "brain_id must be a UUID" }),
});

// The names of the document's components (routes refer to the consts).
export const keysModels = {
  "keys.adminCreate": adminCreate,
  "keys.userCreate": userCreate,
  "keys.created": created,
  "keys.roll": roll,
  "keys.rolled": rolled,
  "keys.patch": patch,
  "keys.patched": patched,
  "keys.listed": listed,
  "keys.adminListed": adminListed,
  "keys.revoked": revoked,
  "keys.validated": validated,
  "keys.chatToken": chatToken,
  "keys.listQuery": listQuery,
  "keys.pageQuery": pageQuery,
  "keys.brainQuery": brainQuery,
};
