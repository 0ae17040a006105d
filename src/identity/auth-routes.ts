import { Elysia } from "elysia";
import type { IdentityContext } from "./context";
import { pageOf } from "../http/paging";
import { passwordLogin } from "./login";
import {
  authRequest,
  createdUser,
  createUserRequest,
  adminUserView,
  loginUser,
  ownPasswordChange,
  ownPasswordChanged,
  patchUserRequest,
  tokenResponse,
  USERS_PAGE,
  userIdParams,
  usersQuery,
  usersResponse,
} from "./model";
import { clientAddress } from "./throttle";
import { trailOf } from "./trail";
import { updateUser } from "./user-admin";
import { changeOwnPassword } from "./own-password";
import { toBody, toQuota, type PolicyStore } from "../rate-limits/policies";
import { adminUser, createUser, listUsers, publicUser } from "./users";
import { errorFamily } from "../http/errors";
import { audit, diff } from "../audit/service";

/** `/api/auth` token and user management (api-keys-and-users.md). */
export function authRoutes(ctx: IdentityContext, limits: PolicyStore) {
  return new Elysia({ prefix: "/api/auth", tags: ["identity"] })
    .onTransform(errorFamily("detail"))
    .use(ctx.auth)
    .post(
      "/token",
      async ({ body, request, server }) => {
        const { user, session } = await passwordLogin(ctx, {
          username: body.username,
          password: body.password,
          address: clientAddress(ctx.config, server, request),
          userAgent: request.headers.get("user-agent"),
          trail: trailOf(ctx, { request, server }),
        });
        return {
          access_token: session.accessToken,
          token_type: "bearer" as const,
          user_id: user.id,
          email: user.email,
          name: user.name,
          role: user.role,
          refresh_token: session.refreshToken,
          expires_in: session.accessExpiresIn,
        };
      },
      {
        form: true,
        body: authRequest,
        response: tokenResponse,
        detail: {
          summary: "Log in (form-urlencoded or JSON username and password)",
          "x-accepts": ["application/json", "application/x-www-form-urlencoded"],
        },
      },
    )
    .post(
      "/users",
      async (c) => {
        const { body, set } = c;
        const u = await ctx.db.transaction(async (tx) => {
          const made = await createUser(tx, body, trailOf(ctx, c));
          await ctx.events.emit(tx, "user.created", { user_id: made.id, email: made.email, role: made.role });
          return made;
        });
        set.status = 201;
        return { id: u.id, email: u.email, name: u.name, created_at: u.createdAt.toISOString(), role: u.role, username: u.username, customer_id: u.customerId };
      },
      { admin: true, body: createUserRequest, response: { 201: createdUser }, detail: { summary: "Create a user (admin)" } },
    )
    .get(
      "/users",
      async ({ query }) => {
        const page = pageOf(query, USERS_PAGE);
        const { rows, total, next } = await listUsers(ctx.db, page, query.after, query.q);
        return { users: rows.map(adminUser), count: total, ...page, next_cursor: next };
      },
      {
        admin: true,
        query: usersQuery,
        response: usersResponse,
        detail: { summary: "List users, oldest first, a page at a time, optionally only those matching q (admin); count is the total" },
      },
    )
    .patch(
      "/users/:id",
      async (c) => {
        const { params, body, principal } = c;
        const { rate_limit, ...patch } = body;
        const user = adminUser(await updateUser(ctx, principal.user, params.id, patch, trailOf(ctx, c)));
        if (rate_limit === undefined) return user;
        const before = toBody(await limits.get("user", user.id));
        await ctx.db.transaction(async (tx) => {
          await limits.set("user", user.id, toQuota(rate_limit), tx);
          const changes = diff({ rate_limit: before }, { rate_limit });
          if (Object.keys(changes).length > 0) await audit(tx, trailOf(ctx, c), { action: "user.limits_changed", target: { type: "user", id: user.id }, changes });
        });
        return { ...user, rate_limit: toBody(await limits.get("user", user.id)) };
      },
      { admin: true, params: userIdParams, body: patchUserRequest, response: adminUserView, detail: { summary: "Change name, role, password or rate limit, or disable (admin)" } },
    )
    .post(
      "/me/password",
      async (c) => {
        const { sessionsEnded } = await changeOwnPassword(ctx, c.principal, c.body, clientAddress(ctx.config, c.server, c.request), trailOf(ctx, c));
        return { message: "Password changed; your other sessions are signed out", other_sessions_ended: sessionsEnded };
      },
      {
        access: true,
        body: ownPasswordChange,
        response: ownPasswordChanged,
        detail: {
          summary: "Change your own password (access token; the current password is required)",
          description:
            "Wrong current passwords count against the sign-in throttle (429 with Retry-After past it). Every other session of yours ends; this one stays signed in. API keys and API tokens are kept.",
        },
      },
    )
    .get("/me", ({ principal }) => publicUser(principal.user), {
      access: true,
      response: loginUser,
      detail: { summary: "The caller's user, from the access token" },
    });
}
