import type { IdentityContext } from "./context";
import type { DB } from "../db/client";
import { refreshTokens } from "./schema";
import { newId, sha256Hex } from "../ids";
import type { UserState } from "../kernel/principal";

export interface IssuedSession {
  accessToken: string;
  refreshToken: string;
  familyId: string;
  refreshId: string;
  accessExpiresIn: number;
}

type Ctx = Pick<IdentityContext, "signer" | "config">;

export function issueAccessToken(ctx: Ctx, user: Pick<UserState, "id" | "role">, familyId: string): Promise<string> {
  return ctx.signer.sign("access", { sub: user.id, sid: familyId, role: user.role, jti: newId("at") }, ctx.config.accessTokenTtlSec);
}

/**
 * Mints one refresh token of a family and stores only its hash. The family's absolute expiry is
 * carried across rotations, so rotating never extends a session.
 */
export async function mintRefreshToken(
  ctx: Ctx,
  db: DB,
  args: { userId: string; familyId: string; parentId?: string; expiresAt: Date; userAgent?: string | null },
): Promise<{ token: string; id: string }> {
  const id = newId("rt");
  const ttl = Math.max(1, Math.floor((args.expiresAt.getTime() - Date.now()) / 1000));
  const token = await ctx.signer.sign("refresh", { sub: args.userId, sid: args.familyId, jti: id }, ttl);
  await db.insert(refreshTokens).values({
    id,
    familyId: args.familyId,
    userId: args.userId,
    parentId: args.parentId ?? null,
    tokenHash: sha256Hex(token),
    expiresAt: args.expiresAt,
    userAgent: args.userAgent?.slice(0, 256) ?? null,
  });
  return { token, id };
}

/** A new login session: a new refresh family and its first access token. */
export async function issueSession(ctx: Ctx & Pick<IdentityContext, "db">, user: UserState, userAgent?: string | null): Promise<IssuedSession> {
  const familyId = newId("ses");
  const expiresAt = new Date(Date.now() + ctx.config.refreshTokenTtlSec * 1000);
  const refresh = await mintRefreshToken(ctx, ctx.db, { userId: user.id, familyId, expiresAt, userAgent });
  const accessToken = await issueAccessToken(ctx, user, familyId);
  return { accessToken, refreshToken: refresh.token, familyId, refreshId: refresh.id, accessExpiresIn: ctx.config.accessTokenTtlSec };
}
