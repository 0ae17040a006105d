import { Elysia } from "elysia";
import type { IdentityContext } from "./context";
import { chatLogin } from "./external-auth";
import { authRequest, authResponse, refreshRequest, refreshResponse, revokeRequest, revokeResponse, tokensQuery, tokensResponse } from "./model";
import { pageOf } from "../http/paging";
import { rotateRefreshToken } from "./refresh";
import { listRefreshTokens, revokeTokens } from "./revoke";
import { clientAddress } from "./throttle";
import { trailOf } from "./trail";
import { publicUser } from "./users";
import { errorFamily } from "../http/errors";

/** `/api/v1/chat` login, refresh and revoke (flowise-proxy-chat-api.md). */
export function chatAuthRoutes(ctx: IdentityContext) {
  const ttl = ctx.config.accessTokenTtlSec;
  return new Elysia({ prefix: "/api/v1/chat", tags: ["identity"] })
    .onTransform(errorFamily("detail"))
    .use(ctx.auth)
    .post(
      "/authenticate",
      async ({ body, request, server }) => {
        const { user, session } = await chatLogin(ctx, {
          username: body.username,
          password: body.password,
          address: clientAddress(ctx.config, server, request),
          userAgent: request.headers.get("user-agent"),
          trail: trailOf(ctx, { request, server }),
        });
        return {
          access_token: session.accessToken,
          refresh_token: session.refreshToken,
          token_type: "bearer" as const,
          expires_in: ttl,
          user: publicUser(user),
          message: "Authentication successful",
        };
      },
      { body: authRequest, response: authResponse, detail: { summary: "Log in with username or email and password" } },
    )
    .post(
      "/refresh",
      async ({ body, request }) => {
        const r = await rotateRefreshToken(ctx, body.refresh_token, request.headers.get("user-agent"));
        return { access_token: r.accessToken, refresh_token: r.refreshToken, token_type: "bearer" as const, expires_in: ttl };
      },
      { body: refreshRequest, response: refreshResponse, detail: { summary: "Rotate a refresh token for a new access and refresh token" } },
    )
    .post("/revoke", async (c) => ({ message: "Tokens revoked successfully.", ...(await revokeTokens(ctx, c.principal, c.body ?? undefined, trailOf(ctx, c))) }), {
      access: true,
      invalidAs400: true,
      body: revokeRequest,
      response: revokeResponse,
      detail: { summary: "Revoke one refresh token, all of them, or the current session" },
    })
    .get(
      "/tokens",
      async ({ principal, query }) => {
        const page = pageOf(query, 200);
        const { tokens, total } = await listRefreshTokens(ctx, principal.user.id, page);
        return { tokens, count: total, ...page };
      },
      { access: true, query: tokensQuery, response: tokensResponse, detail: { summary: "Your refresh tokens (ids and dates, never the tokens)" } },
    );
}
