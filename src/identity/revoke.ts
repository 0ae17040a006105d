import { and, count, desc, eq, gt, sql } from "drizzle-orm";
import type { IdentityContext } from "./context";
import { refreshTokens } from "./schema";
import type { Principal } from "../kernel/principal";
import { IDENTITY_ERRORS } from "./errors";
import { revokeKeysOf } from "../keys/service";
import type { Page } from "../http/paging";
import { audit, type AuditTrail } from "../audit/service";
import { accessRevocationExpiry, endAllSessions, endSession } from "./session-ends";
import type { RefreshTokenInfo, RevokeRequest, RevokeResponse } from "./model";

type Ctx = Pick<IdentityContext, "db" | "config" | "bus" | "users" | "events">;

/** The route adds the message. */
type RevokeResult = Omit<RevokeResponse, "message">;

/**
 * `token_id`: that refresh token (the caller's own), and its session's access tokens if it was
 * the session's live one. `all_tokens`: everything the user is signed in with. The new
 * tokens_valid_after refuses every earlier-issued token of the user, admin-issued API tokens
 * included (the authenticator applies it to them), so their rows are revoked too and the admin
 * listing stays truthful. Neither: the current session and the access token presented.
 */
export async function revokeTokens(ctx: Ctx, principal: Principal, req: RevokeRequest | undefined, trail?: AuditTrail): Promise<RevokeResult> {
  const userId = principal.user.id;
  if (req?.token_id !== undefined && req.all_tokens) throw IDENTITY_ERRORS.TOKEN_OR_ALL();
  // API keys are separate, long-lived credentials (integrations): only an explicit ask ends them.
  if (req?.include_api_keys && !req.all_tokens) throw IDENTITY_ERRORS.API_KEYS_NEED_ALL();
  if (req?.token_id !== undefined) return { revoked_count: await revokeOne(ctx, userId, req.token_id) };
  if (req?.all_tokens) {
    const withKeys = req.include_api_keys === true;
    const out = await ctx.db.transaction(async (tx) => {
      const revoked_count = await endAllSessions(ctx, tx, userId, { reason: "revoke_all", apiTokens: true });
      const out: RevokeResult = withKeys ? { revoked_count, api_keys_revoked: await revokeKeysOf(tx, ctx.bus, userId, ctx.events) } : { revoked_count };
      const changes = {
        sessions_revoked: [null, revoked_count] as [unknown, unknown],
        ...(withKeys ? { api_keys_revoked: [null, out.api_keys_revoked] as [unknown, unknown] } : {}),
      };
      await audit(tx, trail, { action: "user.revoked_all", target: { type: "user", id: userId }, changes });
      return out;
    });
    ctx.users.invalidate(userId);
    return out;
  }
  const sessionId = principal.sessionId!;
  const revoked_count = await ctx.db.transaction(async (tx) => {
    await ctx.bus.publish([{ kind: "access", subject: principal.tokenId, expiresAt: accessRevocationExpiry(ctx) }], tx);
    return endSession(ctx, tx, userId, sessionId, "logout");
  });
  return { revoked_count };
}

async function revokeOne(ctx: Ctx, userId: string, tokenId: string): Promise<number> {
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(refreshTokens)
      .where(and(eq(refreshTokens.id, tokenId), eq(refreshTokens.userId, userId)))
      .for("update");
    // Someone else's token id answers exactly like an unknown one.
    if (!row) throw IDENTITY_ERRORS.TOKEN_NOT_FOUND();
    if (row.revokedAt) return 0;
    const live = row.usedAt === null && row.expiresAt.getTime() > Date.now();
    if (live) return endSession(ctx, tx, userId, row.familyId, "revoked");
    await tx.update(refreshTokens).set({ revokedAt: sql`now()`, revokedReason: "revoked" }).where(eq(refreshTokens.id, row.id));
    return 1;
  });
}

/** The caller's unexpired refresh tokens, newest first; the token values are never stored. */
/** One page of the user's unexpired refresh tokens, newest first, and how many there are. */
export async function listRefreshTokens(ctx: Pick<IdentityContext, "db">, userId: string, page: Page): Promise<{ tokens: RefreshTokenInfo[]; total: number }> {
  const where = and(eq(refreshTokens.userId, userId), gt(refreshTokens.expiresAt, sql`now()`));
  const [rows, [all]] = await Promise.all([
    ctx.db.select().from(refreshTokens).where(where).orderBy(desc(refreshTokens.createdAt), desc(refreshTokens.id)).limit(page.limit).offset(page.offset),
    ctx.db.select({ n: count() }).from(refreshTokens).where(where),
  ]);
  return {
    total: all?.n ?? 0,
    tokens: rows.map((r) => ({
      id: r.id,
      session_id: r.familyId,
      created_at: r.createdAt.toISOString(),
      expires_at: r.expiresAt.toISOString(),
      used_at: r.usedAt?.toISOString() ?? null,
      revoked_at: r.revokedAt?.toISOString() ?? null,
      active: r.usedAt === null && r.revokedAt === null,
    })),
  };
}
