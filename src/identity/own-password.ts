import { and, eq, gt, isNull, ne, sql } from "drizzle-orm";
import type { IdentityContext } from "./context";
import { refreshTokens, users } from "./schema";
import { IDENTITY_ERRORS } from "./errors";
import { assertLoginPassword } from "./login";
import { dummyPasswordHash, hashPassword, passwordProblem, verifyPassword } from "./passwords";
import { userChanged, sessionEnded } from "./session-ends";
import { clearFailures, countersFor, refundAttempt, takeAttempt, throttleKeys } from "./throttle";
import { findUserById } from "./users";
import { audit, type AuditTrail } from "../audit/service";
import type { Principal } from "../kernel/principal";
import type { OwnPasswordChange } from "./model";

type Ctx = Pick<IdentityContext, "db" | "config" | "bus" | "users">;

/**
 * A signed-in user changes their own password. The current password is checked first, against
 * the same failure counters as sign-in (a stolen access token must not buy unlimited guesses).
 * Every other session of the user ends (their refresh tokens are revoked and their access
 * tokens refused), as after a password change anywhere; the session making the change stays
 * signed in. API keys and admin-issued API tokens are separate credentials and are kept (the
 * caller can revoke them with POST /api/v1/chat/revoke, all_tokens and include_api_keys).
 */
export async function changeOwnPassword(ctx: Ctx, principal: Principal, input: OwnPasswordChange, address: string, trail?: AuditTrail): Promise<{ sessionsEnded: number }> {
  assertLoginPassword(input.current_password);
  const problem = passwordProblem(input.new_password);
  if (problem) throw IDENTITY_ERRORS.WEAK_PASSWORD(problem);
  if (input.new_password === input.current_password) throw IDENTITY_ERRORS.SAME_PASSWORD();
  const user = await findUserById(ctx.db, principal.user.id);
  if (!user) throw IDENTITY_ERRORS.USER_NOT_FOUND();

  const keys = throttleKeys(user.email, address);
  const counters = await countersFor(ctx.db, keys, ctx.config);
  const counted = counters.map((c) => c.key);
  const wait = await takeAttempt(ctx.db, counters, ctx.config.loginWindowSec);
  if (wait > 0) throw IDENTITY_ERRORS.LOGIN_THROTTLED.withHeaders({ "Retry-After": String(wait) });
  let ok: boolean;
  try {
    // Without a local password (external sign-in) the check costs the same hashing and fails.
    ok = (await verifyPassword(input.current_password, user.passwordHash ?? (await dummyPasswordHash()))) && user.passwordHash !== null;
  } catch (e) {
    await refundAttempt(ctx.db, counted, ctx.config.loginWindowSec).catch(() => {});
    throw e;
  }
  if (!ok) {
    await audit(ctx.db, trail, { action: "user.password_change_refused", target: { type: "user", id: user.id }, changes: {} });
    throw IDENTITY_ERRORS.CURRENT_PASSWORD_WRONG();
  }
  await clearFailures(ctx.db, keys.pair);
  await refundAttempt(
    ctx.db,
    counted.filter((k) => k !== keys.pair),
    ctx.config.loginWindowSec,
  );

  const passwordHash = await hashPassword(input.new_password);
  const current = principal.sessionId ?? "";
  const sessionsEnded = await ctx.db.transaction(async (tx) => {
    // Guarded by the hash the current password was checked against: of two concurrent changes
    // (two sessions, or an admin's reset) only the first wins; the later one changes nothing.
    const changed = await tx
      .update(users)
      .set({ passwordHash, updatedAt: sql`now()` })
      .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash!)))
      .returning({ id: users.id });
    if (changed.length === 0) throw IDENTITY_ERRORS.PASSWORD_CHANGED_MEANWHILE();
    const revoked = await tx
      .update(refreshTokens)
      .set({ revokedAt: sql`now()`, revokedReason: "password_changed" })
      .where(and(eq(refreshTokens.userId, user.id), isNull(refreshTokens.revokedAt), ne(refreshTokens.familyId, current)))
      .returning({ familyId: refreshTokens.familyId, usedAt: refreshTokens.usedAt, expiresAt: refreshTokens.expiresAt });
    // Families whose access tokens may still be unexpired (absolute expiry plus one access TTL).
    const families = await tx
      .selectDistinct({ familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(
        and(
          eq(refreshTokens.userId, user.id),
          ne(refreshTokens.familyId, current),
          gt(refreshTokens.expiresAt, sql`now() - ${ctx.config.accessTokenTtlSec + 60}::int * interval '1 second'`),
        ),
      );
    await ctx.bus.publish([userChanged(user.id), ...families.map((f) => sessionEnded(ctx, f.familyId))], tx);
    const now = Date.now();
    const ended = new Set(revoked.filter((r) => r.usedAt === null && r.expiresAt.getTime() > now).map((r) => r.familyId)).size;
    await audit(tx, trail, { action: "user.password_changed", target: { type: "user", id: user.id }, changes: { other_sessions_ended: [null, ended] } });
    return ended;
  });
  ctx.users.invalidate(user.id);
  return { sessionsEnded };
}
