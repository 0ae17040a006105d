import { and, eq, isNull, sql } from "drizzle-orm";
import { apiTokens, refreshTokens } from "../db/schema";
import { apiTokenRevoked, endSession } from "../identity/session-ends";
import type { Core } from "../kernel/core";
import { issuedAtMs, type Claims } from "../kernel/jwt";
import type { Credential, Principal } from "../kernel/principal";
import type { TokenKind } from "../kernel/signing-keys";

type Ctx = Pick<Core, "db" | "signer" | "bus" | "authn" | "config">;

export type Introspection = { active: false } | ({ active: true } & Record<string, unknown>);

const INACTIVE: Introspection = { active: false };
const CREDENTIAL: Record<Exclude<TokenKind, "refresh">, Credential> = { access: "access", api: "apiToken", chat: "chat" };
const REQUIRED: Record<TokenKind, string[]> = { access: ["sub", "jti", "sid"], refresh: ["sub", "jti", "sid"], api: ["sub", "jti"], chat: ["sub", "jti", "brain_id", "kid"] };

/** May introspect and revoke any token: an admin's access token, or an API key with the "introspect" scope. */
export function mayIntrospect(p: Principal): boolean {
  if (p.kind === "access") return p.user.role === "admin";
  return p.kind === "apiKey" && (p.scopes ?? []).includes("introspect");
}

/** A refresh token is live while its row is neither used, revoked nor expired, and its session and user stand. */
async function liveRefresh(ctx: Ctx, token: string): Promise<Claims | undefined> {
  const v = await ctx.signer.verify("refresh", token, REQUIRED.refresh);
  if (!v.valid) return undefined;
  const { sub, jti, sid } = v.claims as { sub: string; jti: string; sid: string };
  if (ctx.bus.isRevoked("session", sid)) return undefined;
  const [row] = await ctx.db
    .select()
    .from(refreshTokens)
    .where(and(eq(refreshTokens.id, jti), eq(refreshTokens.userId, sub)));
  if (!row || row.revokedAt || row.usedAt || row.expiresAt.getTime() <= Date.now()) return undefined;
  const user = await ctx.authn.activeUser(sub);
  if (!user || issuedAtMs(v.claims) < user.tokensValidAfterMs) return undefined;
  return v.claims;
}

/**
 * RFC 7662: the token's claims when chatgate itself would accept it right now (signature, kind,
 * expiry, revocations on the bus, the user's cut-off, a disabled user), else only `active: false`.
 */
export async function introspect(ctx: Ctx, token: string): Promise<Introspection> {
  const kind = ctx.signer.kindOf(token);
  if (!kind) return INACTIVE;
  let claims: Claims | undefined;
  if (kind === "refresh") claims = await liveRefresh(ctx, token);
  else {
    // The very checks a protected route runs for this credential.
    const r = await ctx.authn.authenticate(new Request("http://introspect/", { headers: { authorization: `Bearer ${token}` } }), [CREDENTIAL[kind]]);
    if (r.ok) {
      const v = await ctx.signer.verify(kind, token, REQUIRED[kind]);
      if (v.valid) claims = v.claims;
    }
  }
  if (!claims) return INACTIVE;
  const c = claims as Record<string, unknown>;
  return {
    active: true,
    sub: c.sub,
    ...(typeof c.exp === "number" ? { exp: c.exp } : {}),
    iat: c.iat,
    jti: c.jti,
    iss: c.iss,
    aud: c.aud,
    token_type: "Bearer",
    // Which of chatgate's kinds; the same name its `typ` header carries (chatgate-<kind>+jwt).
    token_use: kind,
    ...(kind === "chat" ? { brain_id: c.brain_id, api_key_id: c.kid, scope: "chat" } : {}),
    ...(kind === "access" || kind === "refresh" ? { sid: c.sid } : {}),
    ...(kind === "access" ? { role: c.role } : {}),
  };
}

/** The holder of a live refresh token may revoke it without other credentials (RFC 7009 public clients). */
export async function isLiveRefreshToken(ctx: Ctx, token: string): Promise<boolean> {
  return ctx.signer.kindOf(token) === "refresh" && (await liveRefresh(ctx, token)) !== undefined;
}

const until = (claims: Claims, minMs: number) => new Date(Math.max(typeof claims.exp === "number" ? claims.exp * 1000 + 10_000 : 0, Date.now() + minMs));

/**
 * RFC 7009: ends the token if chatgate signed it and it is still valid, on every instance at
 * once (the revocation bus); anything else is a no-op, answered the same way.
 * A refresh token ends its whole session (its access tokens too), as a logout does.
 */
export async function revoke(ctx: Ctx, token: string): Promise<void> {
  const kind = ctx.signer.kindOf(token);
  if (!kind) return;
  const v = await ctx.signer.verify(kind, token, REQUIRED[kind]);
  if (!v.valid) return;
  const { sub, jti, sid } = v.claims as { sub: string; jti: string; sid?: string };
  switch (kind) {
    case "access":
      return ctx.bus.publish([{ kind: "access", subject: jti, expiresAt: until(v.claims, 0) }]);
    case "chat":
      return ctx.bus.publish([{ kind: "chat_token", subject: jti, expiresAt: until(v.claims, 0) }]);
    case "refresh":
      await ctx.db.transaction((tx) => endSession(ctx, tx, sub, sid!, "revoked"));
      return;
    case "api":
      await ctx.db.transaction(async (tx) => {
        const changed = await tx
          .update(apiTokens)
          .set({ revokedAt: sql`now()` })
          .where(and(eq(apiTokens.id, jti), isNull(apiTokens.revokedAt)))
          .returning({ id: apiTokens.id });
        if (changed.length > 0) await ctx.bus.publish([apiTokenRevoked(jti)], tx);
      });
  }
}
