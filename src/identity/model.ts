import { t } from "elysia";
import { cursorField, pageFields } from "../http/paging";
import { IDENTITY_ERRORS } from "./errors";
import { rateLimitBody, rateLimitField } from "../rate-limits/model";

/** The user object of login responses and /api/auth/me. */
export const loginUser = t.Object({
  id: t.String(),
  email: t.String(),
  name: t.String(),
  role: t.Union([t.Literal("user"), t.Literal("admin")]),
  username: t.Union([t.String(), t.Null()]),
  customer_id: t.Number(),
  created_at: t.String({ format: "date-time" }),
});
export type LoginUser = typeof loginUser.static;

export const adminUserView = t.Composite([
  loginUser,
  t.Object({
    disabled: t.Boolean(),
    disabled_at: t.Union([t.String({ format: "date-time" }), t.Null()]),
    low_credit_threshold: t.Union([t.Integer(), t.Null()], { description: "credits.low fires below this balance; null: never" }),
    /** The user's own quota (null: RATE_LIMIT_USER applies); in PATCH answers that set it. */
    rate_limit: t.Optional(t.Nullable(rateLimitBody)),
  }),
]);
export type AdminUserView = typeof adminUserView.static;

// Lengths here only bound the input; the password rules (8..1024, no control characters) are
// checked by the service before any hashing so their message is exact.
export const authRequest = t.Object({
  username: t.String({ minLength: 1, maxLength: 320, error: "username: required, at most 320 characters" }),
  password: t.String({ error: "password: required" }),
});

export const authResponse = t.Object({
  access_token: t.String(),
  refresh_token: t.String(),
  token_type: t.Literal("bearer"),
  expires_in: t.Number(),
  user: loginUser,
  message: t.String(),
});
export type AuthResponse = typeof authResponse.static;

export const refreshRequest = t.Object({
  refresh_token: t.String({ minLength: 1, maxLength: 4096, error: "refresh_token: required" }),
});

export const refreshResponse = t.Object({
  access_token: t.String(),
  refresh_token: t.String(),
  token_type: t.Literal("bearer"),
  expires_in: t.Number(),
});
export type RefreshResponse = typeof refreshResponse.static;

export const revokeRequest = t.Optional(
  t.Object({
    token_id: t.Optional(t.String({ minLength: 1, maxLength: 100, error: "token_id: must be a token id" })),
    all_tokens: t.Optional(t.Boolean({ error: "all_tokens: must be true or false" })),
    include_api_keys: t.Optional(t.Boolean({ error: "include_api_keys: must be true or false", description: "With all_tokens: also revoke every API key of the caller" })),
  }),
);
export type RevokeRequest = typeof revokeRequest.static;

export const revokeResponse = t.Object({
  message: t.String(),
  revoked_count: t.Integer(),
  api_keys_revoked: t.Optional(t.Integer({ description: "Only with include_api_keys" })),
});
export type RevokeResponse = typeof revokeResponse.static;

export const refreshTokenInfo = t.Object({
  id: t.String(),
  session_id: t.String(),
  created_at: t.String(),
  expires_at: t.String(),
  used_at: t.Union([t.String(), t.Null()]),
  revoked_at: t.Union([t.String(), t.Null()]),
  active: t.Boolean(),
});
export type RefreshTokenInfo = typeof refreshTokenInfo.static;

export const tokensQuery = t.Object(pageFields(200, 200));
export const tokensResponse = t.Object({
  tokens: t.Array(refreshTokenInfo),
  count: t.Integer({ description: "All your unexpired refresh tokens, regardless of limit/offset" }),
  limit: t.Integer(),
  offset: t.Integer(),
});

export const tokenResponse = t.Object({
  access_token: t.String(),
  token_type: t.Literal("bearer"),
  user_id: t.String(),
  email: t.String(),
  name: t.String(),
  role: t.String(),
  refresh_token: t.String(),
  expires_in: t.Number(),
});

const role = t.Union([t.Literal("user"), t.Literal("admin")], { error: "role: must be user or admin" });
const name = t.String({ maxLength: 200, error: "name: at most 200 characters" });

export const createUserRequest = t.Object({
  email: t.String({ format: "email", maxLength: 320, error: "email: must be an email address" }),
  name: t.Optional(name),
  password: t.String({ error: "password: required" }),
  role: t.Optional(role),
  username: t.Optional(t.String({ pattern: "^[A-Za-z0-9._-]{1,64}$", error: "username: 1 to 64 of letters, digits, . _ -" })),
});

export const createdUser = t.Object({
  id: t.String(),
  email: t.String(),
  name: t.String(),
  created_at: t.String(),
  role: t.String(),
  username: t.Union([t.String(), t.Null()]),
  customer_id: t.Number(),
});
export type CreatedUser = typeof createdUser.static;

export const patchUserRequest = t.Object({
  name: t.Optional(name),
  role: t.Optional(role),
  password: t.Optional(t.String({ error: "password: must be a string" })),
  disabled: t.Optional(t.Boolean({ error: "disabled: must be true or false" })),
  // Keys otherwise outlive a password reset or a disable.
  revoke_api_keys: t.Optional(t.Boolean({ error: "revoke_api_keys: must be true or false", description: "Also revoke every API key of the user" })),
  low_credit_threshold: t.Optional(
    t.Nullable(
      t.Integer({
        minimum: 0,
        maximum: 9007199254740991,
        error: "low_credit_threshold: must be a whole number >= 0 or null",
        description: "credits.low fires once when the balance drops below this; null: never",
      }),
    ),
  ),
  rate_limit: rateLimitField,
});
export type UserPatch = typeof patchUserRequest.static;

export const ownPasswordChange = t.Object({
  current_password: t.String({ maxLength: 4096, error: IDENTITY_ERRORS.OWN_PASSWORD_FIELD.message("current_password") }),
  new_password: t.String({ maxLength: 4096, error: IDENTITY_ERRORS.OWN_PASSWORD_FIELD.message("new_password") }),
});
export type OwnPasswordChange = typeof ownPasswordChange.static;

export const ownPasswordChanged = t.Object({
  message: t.String(),
  other_sessions_ended: t.Integer({ description: "Other sessions of yours that were signed out; this one stays signed in" }),
});

export const USERS_PAGE = 100;
export const usersQuery = t.Object({
  ...pageFields(1000, USERS_PAGE),
  ...cursorField,
  q: t.Optional(
    t.String({
      maxLength: 200,
      description: "only users whose email, name, username or id contains this (case-insensitive), or whose customer_id is this number; count is then the number that match",
      error: "q: at most 200 characters",
    }),
  ),
});
export const usersResponse = t.Object({
  users: t.Array(adminUserView),
  count: t.Integer({ description: "All users (matching q, when given), regardless of limit/offset" }),
  limit: t.Integer(),
  offset: t.Integer(),
  next_cursor: t.Union([t.String(), t.Null()], { description: "pass as ?after= for the next page (cheaper than a large offset); null on the last page" }),
});
export type UsersResponse = typeof usersResponse.static;

export const userIdParams = t.Object({ id: t.String({ maxLength: 100 }) });

export const identityModels = {
  AuthRequest: authRequest,
  AuthResponse: authResponse,
  RefreshTokenRequest: refreshRequest,
  RefreshTokenResponse: refreshResponse,
  RevokeTokenResponse: revokeResponse,
  LoginUser: loginUser,
};
