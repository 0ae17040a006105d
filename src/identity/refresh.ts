import { and, count, eq, gt, isNull, or, sql } from "drizzle-orm";
import type { IdentityContext } from "./context";
import { refreshTokens, users } from "./schema";
import { HTTP_ERRORS } from "../http/errors";
import { sha256Hex } from "../ids";
import { identityMetrics } from "./metrics";
import { endSession } from "./session-ends";
import { issueAccessToken, mintRefreshToken } from "./sessions";

type Ctx = Pick<IdentityContext, "db" | "config" | "signer" | "metrics" | "log" | "bus" | "users" | "usage">;

const refused = () => HTTP_ERRORS.INVALID_JWT();

/**
 * Successors one refresh token may have: retries within the grace are a handful, so a client
 * (or a thief) looping on one token cannot fill the table; past it the token is refused, the
 * family left alone.
 */
export const MAX_SUCCESSORS = 32;

export interface Rotated {
  accessToken: string;
  refreshToken: string;
}

/**
 * Rotation: one conditional UPDATE claims the presented token (unrevoked, unexpired, matching
 * hash, and unused or first used less than REFRESH_REUSE_GRACE ago) and mints the family's next
 * token in the same transaction. Within the grace a retry (lost response, two tabs) gets its own
 * fresh pair in the same family, with the same absolute expiry: no new session is ever created,
 * and the family still dies as one. Concurrent claims queue on the row lock and re-check the
 * condition, so all of them succeed within the grace. The grace runs from the first use
 * (`coalesce` keeps it), and one token has at most MAX_SUCCESSORS. Anyone presenting a rotated token after the grace is treated as a thief
 * holding a copy: the whole family is revoked, including the newer tokens.
 */
export async function rotateRefreshToken(ctx: Ctx, token: string, userAgent?: string | null): Promise<Rotated> {
  const v = await ctx.signer.verify("refresh", token, ["sub", "sid", "jti"]);
  if (!v.valid) throw refused();
  const { sub, sid, jti } = v.claims as { sub: string; sid: string; jti: string };
  const user = await ctx.users.get(sub);
  if (!user || user.disabled) throw refused();
  const hash = sha256Hex(token);
  const next = await ctx.db.transaction(async (tx) => {
    // A revoke-all updates the user row first and then revokes the refresh tokens it can see; a
    // rotation's new token, inserted while that UPDATE waited on the old token's lock, would be
    // invisible to it. Holding the user row (shared) orders the two: a rotation either finishes
    // before the revoke-all starts (whose UPDATE then sees the new token) or starts after it
    // committed (and finds its token revoked).
    await tx.select({ id: users.id }).from(users).where(eq(users.id, sub)).for("share");
    const grace = ctx.config.refreshReuseGraceSec;
    const claimable = grace > 0 ? or(isNull(refreshTokens.usedAt), gt(refreshTokens.usedAt, sql`now() - make_interval(secs => ${grace})`)) : isNull(refreshTokens.usedAt);
    const [claimed] = await tx
      .update(refreshTokens)
      .set({ usedAt: sql`coalesce(${refreshTokens.usedAt}, now())` })
      .where(
        and(
          eq(refreshTokens.id, jti),
          eq(refreshTokens.tokenHash, hash),
          eq(refreshTokens.userId, sub),
          eq(refreshTokens.familyId, sid),
          claimable,
          isNull(refreshTokens.revokedAt),
          gt(refreshTokens.expiresAt, sql`now()`),
        ),
      )
      // used_at differs from this transaction's now() only when an earlier exchange set it.
      .returning({
        familyId: refreshTokens.familyId,
        id: refreshTokens.id,
        expiresAt: refreshTokens.expiresAt,
        userAgent: refreshTokens.userAgent,
        retry: sql<boolean>`${refreshTokens.usedAt} <> now()`,
      });
    if (!claimed) return undefined;
    if (claimed.retry) {
      // The row lock taken by the UPDATE serialises exchanges of this token: the count is exact.
      const [row] = await tx
        .select({ n: count() })
        .from(refreshTokens)
        .where(and(eq(refreshTokens.familyId, claimed.familyId), eq(refreshTokens.parentId, claimed.id)));
      if ((row?.n ?? 0) >= MAX_SUCCESSORS) return "capped" as const;
    }
    return mintRefreshToken(ctx, tx, {
      userId: sub,
      familyId: claimed.familyId,
      parentId: claimed.id,
      expiresAt: claimed.expiresAt,
      userAgent: userAgent ?? claimed.userAgent,
    });
  });
  if (next === "capped") throw refused();
  if (!next) {
    await detectReuse(ctx, jti, hash);
    throw refused();
  }
  const accessToken = await issueAccessToken(ctx, user, sid);
  const m = identityMetrics(ctx.metrics);
  m.tokensIssued.inc({ kind: "access" });
  m.tokensIssued.inc({ kind: "refresh" });
  ctx.usage.add("tokensAccess", user.id);
  ctx.usage.add("tokensRefresh", user.id);
  return { accessToken, refreshToken: next.token };
}

async function detectReuse(ctx: Ctx, id: string, hash: string): Promise<void> {
  const [row] = await ctx.db
    .select()
    .from(refreshTokens)
    .where(and(eq(refreshTokens.id, id), eq(refreshTokens.tokenHash, hash)));
  if (!row || row.usedAt === null) return; // unknown, revoked or expired: a plain refusal
  await ctx.db.transaction((tx) => endSession(ctx, tx, row.userId, row.familyId, "reuse"));
  ctx.log.warn("refresh token reuse: session revoked", { user_id: row.userId, session_id: row.familyId });
}
