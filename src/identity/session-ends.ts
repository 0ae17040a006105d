import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { IdentityContext } from "./context";
import type { DB } from "../db/client";
import { refreshTokens, users } from "./schema";
import { apiTokens } from "../admin-tokens/schema";
import type { RevocationEvent } from "../kernel/revocations";

type Ctx = Pick<IdentityContext, "config" | "bus"> & Partial<Pick<IdentityContext, "events">>;

// An access token lives at most ACCESS_TOKEN_TTL (the 10 s below are only a margin), so a
// session or access revocation is needed only that long.
export const accessRevocationExpiry = (ctx: Pick<IdentityContext, "config">) => new Date(Date.now() + (ctx.config.accessTokenTtlSec + 10) * 1000);
// Long enough for every instance to see it (LISTEN or the periodic catch-up) and drop its cache.
export const userEventExpiry = () => new Date(Date.now() + 5 * 60_000);

export function userChanged(userId: string): RevocationEvent {
  return { kind: "user", subject: userId, expiresAt: userEventExpiry() };
}

export function sessionEnded(ctx: Pick<IdentityContext, "config">, familyId: string): RevocationEvent {
  return { kind: "session", subject: familyId, expiresAt: accessRevocationExpiry(ctx) };
}

// The event only has to outlive the authenticator's 5-minute API-token cache: after that every
// instance re-reads the row, whose revoked_at refuses the token for good.
export function apiTokenRevoked(id: string): RevocationEvent {
  return { kind: "api_token", subject: id, expiresAt: new Date(Date.now() + 10 * 60_000) };
}

/** Revokes the live refresh tokens of one family and refuses its access tokens; returns how many. */
export async function endSession(ctx: Ctx, tx: DB, userId: string, familyId: string, reason: string): Promise<number> {
  const rows = await tx
    .update(refreshTokens)
    .set({ revokedAt: sql`now()`, revokedReason: reason })
    .where(and(eq(refreshTokens.familyId, familyId), eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)))
    .returning({ id: refreshTokens.id, usedAt: refreshTokens.usedAt });
  await ctx.bus.publish([sessionEnded(ctx, familyId)], tx);
  return rows.filter((r) => r.usedAt === null).length;
}

export interface EndAllOptions {
  reason: string;
  /** Also revoke the admin-issued API tokens (disable, password change). */
  apiTokens: boolean;
}

/**
 * Ends everything a user is signed in with, inside the caller's transaction: every refresh token,
 * every session's access tokens (a `session` event per family, and `tokens_valid_after`, compared
 * to the millisecond with every token kind's signing time), optionally API tokens. Returns the number of
 * live refresh tokens revoked.
 */
export async function endAllSessions(ctx: Ctx, tx: DB, userId: string, opts: EndAllOptions): Promise<number> {
  // This process's clock, which also stamps the tokens it signs, one millisecond ahead: a token
  // signed in the same millisecond as the revoke cannot be told apart, so it is refused too.
  await tx
    .update(users)
    .set({ tokensValidAfter: new Date(Date.now() + 1), updatedAt: sql`now()` })
    .where(eq(users.id, userId));
  const revoked = await tx
    .update(refreshTokens)
    .set({ revokedAt: sql`now()`, revokedReason: opts.reason })
    .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)))
    .returning({ usedAt: refreshTokens.usedAt, expiresAt: refreshTokens.expiresAt });
  // Families whose access tokens may still be unexpired: absolute expiry plus one access TTL.
  const families = await tx
    .selectDistinct({ familyId: refreshTokens.familyId })
    .from(refreshTokens)
    .where(and(eq(refreshTokens.userId, userId), gt(refreshTokens.expiresAt, sql`now() - ${ctx.config.accessTokenTtlSec + 60}::int * interval '1 second'`)));
  const events: RevocationEvent[] = [userChanged(userId), ...families.map((f) => sessionEnded(ctx, f.familyId))];
  if (opts.apiTokens) {
    const tokens = await tx
      .update(apiTokens)
      .set({ revokedAt: sql`now()` })
      .where(and(eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)))
      .returning({ id: apiTokens.id });
    for (const tok of tokens) {
      events.push(apiTokenRevoked(tok.id));
      await ctx.events?.emit(tx, "api_token.revoked", { id: tok.id, user_id: userId, reason: opts.reason });
    }
  }
  await ctx.bus.publish(events, tx);
  const now = Date.now();
  return revoked.filter((r) => r.usedAt === null && r.expiresAt.getTime() > now).length;
}
