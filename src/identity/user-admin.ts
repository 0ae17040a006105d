import { eq, sql } from "drizzle-orm";
import type { IdentityContext } from "./context";
import { users, type User } from "./schema";
import type { UserState } from "../kernel/principal";
import { IDENTITY_ERRORS } from "./errors";
import { revokeKeysOf } from "../keys/service";
import { hashPassword, passwordProblem } from "./passwords";
import { endAllSessions, userChanged } from "./session-ends";
import { findUserById } from "./users";
import { audit, type AuditTrail } from "../audit/service";
import type { UserPatch } from "./model";

type Ctx = Pick<IdentityContext, "db" | "config" | "bus" | "users" | "log" | "events" | "balances">;

type Change = { action: string; changes: Record<string, [unknown, unknown]> };

/**
 * One audit row per action the patch performs (a role change, a password reset, a disable or
 * enable, revoking the keys, a rename): each is its own event, as the webhooks see them.
 */
function userChanges(before: User, patch: UserPatch, keysRevoked: number | undefined): Change[] {
  const out: Change[] = [];
  if (patch.role !== undefined && patch.role !== before.role) out.push({ action: "user.role_changed", changes: { role: [before.role, patch.role] } });
  if (patch.password !== undefined) out.push({ action: "user.password_reset", changes: { local_login: [before.passwordHash !== null, true] } });
  if (patch.disabled === true && before.disabledAt === null) out.push({ action: "user.disabled", changes: { disabled: [false, true] } });
  if (patch.disabled === false && before.disabledAt !== null) out.push({ action: "user.enabled", changes: { disabled: [true, false] } });
  if (patch.name !== undefined && patch.name !== before.name) out.push({ action: "user.updated", changes: { name: [before.name, patch.name] } });
  if (keysRevoked !== undefined) out.push({ action: "user.api_keys_revoked", changes: { api_keys_revoked: [null, keysRevoked] } });
  return out;
}

/**
 * Changes a user. A new password or disabling ends every session, refresh token and API token
 * of the user in the same transaction; any other change is announced so every instance re-reads it.
 * API keys are kept unless `revoke_api_keys` (a disabled user's keys are refused while disabled).
 */
export async function updateUser(ctx: Ctx, actor: UserState, id: string, patch: UserPatch, trail?: AuditTrail): Promise<User> {
  if (patch.password !== undefined) {
    const problem = passwordProblem(patch.password);
    if (problem) throw IDENTITY_ERRORS.WEAK_PASSWORD(problem);
  }
  const existing = await findUserById(ctx.db, id);
  if (!existing) throw IDENTITY_ERRORS.USER_NOT_FOUND();
  // An admin locking themselves out would leave no one to undo it.
  if (id === actor.id && (patch.disabled === true || patch.role === "user")) {
    throw IDENTITY_ERRORS.SELF_DEMOTION();
  }
  const passwordHash = patch.password === undefined ? undefined : await hashPassword(patch.password);
  const disable = patch.disabled === true && existing.disabledAt === null;
  const set: Partial<typeof users.$inferInsert> = {};
  if (patch.name !== undefined) set.name = patch.name;
  if (patch.role !== undefined) set.role = patch.role;
  if (passwordHash !== undefined) set.passwordHash = passwordHash;
  if (patch.disabled === true && existing.disabledAt === null) set.disabledAt = new Date();
  if (patch.disabled === false) set.disabledAt = null;
  const enable = patch.disabled === false && existing.disabledAt !== null;
  if (patch.low_credit_threshold !== undefined) set.lowCreditThreshold = patch.low_credit_threshold;
  // Any change: instances cache the whole user state (name included, which /api/auth/me shows).
  const stateChanged = Object.keys(set).length > 0;
  const updated = await ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .update(users)
      .set({ ...set, updatedAt: sql`now()` })
      .where(eq(users.id, id))
      .returning();
    const keysRevoked = patch.revoke_api_keys ? await revokeKeysOf(tx, ctx.bus, id, ctx.events) : undefined;
    for (const entry of userChanges(existing, patch, keysRevoked)) await audit(tx, trail, { ...entry, target: { type: "user", id } });
    if (disable) await ctx.events.emit(tx, "user.disabled", { user_id: id, by: actor.id });
    if (enable) await ctx.events.emit(tx, "user.enabled", { user_id: id, by: actor.id });
    // A new threshold may already be above the balance: that is a crossing too.
    if (patch.low_credit_threshold !== undefined) await ctx.balances.observe(tx, id);
    if (disable || passwordHash !== undefined) {
      await endAllSessions(ctx, tx, id, { reason: disable ? "disabled" : "password_changed", apiTokens: true });
      return (await findUserById(tx, id))!;
    }
    if (stateChanged) await ctx.bus.publish([userChanged(id)], tx);
    return row!;
  });
  // Again after commit: a request between publish and commit may have cached the old row.
  ctx.users.invalidate(id);
  if (disable) ctx.log.info("user disabled", { user_id: id, by: actor.id });
  return updated;
}
