import { Elysia } from "elysia";
import { errorFamily } from "../http/errors";
import { OAUTH_ERRORS } from "./errors";
import type { Core } from "../kernel/core";
import type { Principal } from "../kernel/principal";
import type { SigningKeyStore } from "../signing-keys/service";
import { introspect, isLiveRefreshToken, mayIntrospect, revoke } from "./service";

const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" };

/** RFC 7662/7009 bodies: `token` (+ `token_type_hint`, which is only a hint: the `typ` header decides). */
function tokenOf(body: unknown): string {
  const b = body && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  if (!b || typeof b.token !== "string" || b.token === "") throw OAUTH_ERRORS.TOKEN_REQUIRED();
  if (b.token_type_hint !== undefined && typeof b.token_type_hint !== "string") throw OAUTH_ERRORS.BAD_HINT();
  return b.token;
}

export function oauthRoutes(ctx: Core, store: SigningKeyStore) {
  // The issuer when it is a URL (set JWT_ISSUER to chatgate's public URL); otherwise the address
  // the caller used, never cached by shared caches since the Host header chose it.
  const issuerUrl = /^https?:\/\//.test(ctx.config.issuer) ? ctx.config.issuer.replace(/\/+$/, "") : undefined;
  const baseOf = (request: Request) => issuerUrl ?? new URL(request.url).origin;

  /** An admin's access token or an API key with the "introspect" scope; undefined when neither. */
  const client = async (request: Request): Promise<Principal | undefined> => {
    const r = await ctx.authn.authenticate(request, ["access", "apiKey"]);
    return r.ok && mayIntrospect(r.principal) ? r.principal : undefined;
  };
  const invalidClient = () => OAUTH_ERRORS.INVALID_CLIENT();

  return new Elysia({ tags: ["oauth"] })
    .onTransform(errorFamily("oauth"))
    .use(ctx.auth)
    .get(
      "/.well-known/jwks.json",
      ({ set }) => {
        set.headers["cache-control"] = "public, max-age=300";
        return { keys: store.jwks() };
      },
      { detail: { summary: "Public keys of access, chat and API tokens (RFC 7517); empty with JWT_ALG=HS256" } },
    )
    .get(
      "/.well-known/oauth-authorization-server",
      ({ request, set }) => {
        const base = baseOf(request);
        set.headers["cache-control"] = issuerUrl ? "public, max-age=3600" : "private, no-cache";
        return {
          issuer: ctx.config.issuer,
          jwks_uri: `${base}/.well-known/jwks.json`,
          introspection_endpoint: `${base}/oauth/introspect`,
          revocation_endpoint: `${base}/oauth/revoke`,
          // No authorization endpoint: logins are chatgate's own routes, not OAuth flows.
          response_types_supported: [],
        };
      },
      { detail: { summary: "Authorization server metadata (RFC 8414)" } },
    )
    .post(
      "/oauth/introspect",
      async ({ principal, body, set }) => {
        // The guard ran before the body was read; a valid credential of the wrong sort ends here.
        if (!mayIntrospect(principal)) throw invalidClient();
        const token = tokenOf(body);
        Object.assign(set.headers, NO_STORE);
        return introspect(ctx, token);
      },
      {
        auth: { accept: ["access", "apiKey"] },
        form: true,
        detail: { summary: "Token introspection (RFC 7662): an admin access token or an API key with the introspect scope; JSON or form body" },
      },
    )
    .post(
      "/oauth/revoke",
      async ({ request, body }) => {
        const allowed = await client(request);
        const token = tokenOf(body);
        // Without such a credential, the holder of a live refresh token may still revoke it
        // (RFC 7009 section 5, public clients): possession is what the refresh route trusts too.
        if (!allowed && !(await isLiveRefreshToken(ctx, token))) throw invalidClient();
        await revoke(ctx, token);
        // 200 whether or not the token was known or valid (RFC 7009 section 2.2).
        return new Response(null, { status: 200, headers: NO_STORE });
      },
      {
        form: true,
        // Documented without a required scheme: a live refresh token's holder needs none.
        detail: {
          summary:
            "Token revocation (RFC 7009) of refresh, access, chat and API tokens: an admin access token or an API key with the introspect scope; a live refresh token's holder needs no credential",
        },
      },
    );
}
