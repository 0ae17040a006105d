import { eq, sql } from "drizzle-orm";
import { audit, diff, type AuditActor, type AuditTrail } from "../audit/service";
import type { IdentityContext } from "./context";
import { users, type User } from "./schema";
import { AppError } from "../http/errors";
import { assertLoginPassword, completeLogin, failLogin, passwordLogin, throttledLogin, type LoginInput, type LoginOutcome } from "./login";
import { userChanged } from "./session-ends";
import { throttleKeys } from "./throttle";
import { createUser, findUserByEmail, isUniqueViolation } from "./users";
import { IDENTITY_ERRORS } from "./errors";

type Ctx = Pick<IdentityContext, "db" | "config" | "signer" | "metrics" | "log" | "bus" | "users" | "events" | "throttleNoticed" | "usage" | "record">;

const TIMEOUT_MS = 5000;

interface ExternalUser {
  externalId: string | null;
  email: string;
  name: string | null;
  role: "user" | "admin" | null;
}

/** Reads the service's user: either the body itself or its `user` member. */
function parseExternalUser(body: unknown, login: string): ExternalUser | undefined {
  const obj = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
  const u = (obj.user && typeof obj.user === "object" ? obj.user : obj) as Record<string, unknown>;
  const rawId = u.id ?? u._id ?? u.user_id;
  const externalId = typeof rawId === "string" || typeof rawId === "number" ? String(rawId).slice(0, 200) : null;
  const email = typeof u.email === "string" && u.email.includes("@") ? u.email.trim() : login.includes("@") ? login.trim() : undefined;
  if (!email || email.length > 320) return undefined;
  const name = typeof u.name === "string" ? u.name.slice(0, 200) : null;
  const role = u.role === "admin" || u.role === "user" ? u.role : null;
  return { externalId, email, name, role };
}

async function callService(url: string, username: string, password: string): Promise<{ status: number; body?: unknown }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ username, password }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
      redirect: "manual",
    });
  } catch {
    throw IDENTITY_ERRORS.AUTH_SERVICE_UNAVAILABLE();
  }
  if (res.status < 200 || res.status >= 300) {
    await res.body?.cancel().catch(() => {});
    return { status: res.status };
  }
  try {
    return { status: res.status, body: await res.json() };
  } catch {
    throw IDENTITY_ERRORS.AUTH_SERVICE_UNAVAILABLE();
  }
}

/**
 * Whether an external identity may take over the local account that has its email. Only an
 * account the service itself created (no password, not an admin, no other external id) is linked
 * by email, or with AUTH_SERVICE_LINK_BY_EMAIL=true one with a password; an admin never is,
 * since whoever controls the service's emails would otherwise become that admin.
 */
function mayLinkByEmail(ctx: Ctx, local: User): boolean {
  if (local.role === "admin" || local.externalId) return false;
  return local.passwordHash === null || ctx.config.authServiceLinkByEmail;
}

/**
 * Finds the local user by external id (or links one by email, see above) and brings it up to date.
 * What it creates or changes is audited with the service as the actor (`{type: "system", id:
 * "auth_service"}`) and the login request's address and id.
 */
async function upsertExternalUser(ctx: Ctx, ext: ExternalUser, via?: AuditActor): Promise<User> {
  const trail: AuditTrail = { record: ctx.record, actor: { type: "system", id: "auth_service", ip: via?.ip ?? null, requestId: via?.requestId ?? null } };
  for (let attempt = 0; attempt < 3; attempt++) {
    const byId = ext.externalId ? (await ctx.db.select().from(users).where(eq(users.externalId, ext.externalId)))[0] : undefined;
    const byEmail = byId ? undefined : await findUserByEmail(ctx.db, ext.email);
    if (byEmail && !mayLinkByEmail(ctx, byEmail)) {
      ctx.log.warn("external login refused: its email belongs to a local account", {
        local_user_id: byEmail.id,
        local_role: byEmail.role,
        local_has_password: byEmail.passwordHash !== null,
        external_id: ext.externalId,
      });
      throw IDENTITY_ERRORS.EXTERNAL_EMAIL_CONFLICT();
    }
    const existing = byId ?? byEmail;
    if (!existing) {
      try {
        return await createUser(ctx.db, { email: ext.email, name: ext.name ?? "", role: ext.role ?? "user", externalId: ext.externalId }, trail);
      } catch (e) {
        if (e instanceof AppError && e.code === "CONFLICT") continue; // a concurrent first login created it
        throw e;
      }
    }
    const role = ext.role ?? existing.role;
    const patch = { email: ext.email, name: ext.name ?? existing.name, role, externalId: ext.externalId ?? existing.externalId };
    const unchanged = patch.email === existing.email && patch.name === existing.name && role === existing.role && patch.externalId === existing.externalId;
    if (unchanged) return existing;
    try {
      const updated = await ctx.db.transaction(async (tx) => {
        const [row] = await tx
          .update(users)
          .set({ ...patch, updatedAt: sql`now()` })
          .where(eq(users.id, existing.id))
          .returning();
        await ctx.bus.publish([userChanged(existing.id)], tx);
        const target = { type: "user", id: existing.id };
        if (role !== existing.role) await audit(tx, trail, { action: "user.role_changed", target, changes: { role: [existing.role, role] } });
        const before = { email: existing.email, name: existing.name, external_id: existing.externalId };
        const changes = diff(before, { email: patch.email, name: patch.name, external_id: patch.externalId });
        if (Object.keys(changes).length > 0) await audit(tx, trail, { action: "user.updated", target, changes });
        return row!;
      });
      ctx.users.invalidate(existing.id);
      return updated;
    } catch (e) {
      if (isUniqueViolation(e)) throw IDENTITY_ERRORS.EMAIL_TAKEN();
      throw e;
    }
  }
  throw IDENTITY_ERRORS.EMAIL_TAKEN();
}

/**
 * Credentials checked by the external authentication service (AUTH_SERVICE_URL): its 2xx user is
 * mirrored locally and gets a local session; its 401/403 is a failed login; no answer, a timeout
 * or a 5xx is a 503 (and is not counted against the caller).
 */
export async function externalLogin(ctx: Ctx, url: string, input: LoginInput): Promise<LoginOutcome> {
  assertLoginPassword(input.password);
  const keys = throttleKeys(input.username, input.address);
  return throttledLogin(
    ctx,
    keys,
    async (counted) => {
      const res = await callService(url, input.username, input.password);
      if (res.status >= 500 || res.status === 429 || res.status === 408) throw IDENTITY_ERRORS.AUTH_SERVICE_UNAVAILABLE();
      if (res.status >= 300) return failLogin(ctx);
      const ext = parseExternalUser(res.body, input.username);
      if (!ext) {
        ctx.log.warn("authentication service returned a user without an email");
        throw IDENTITY_ERRORS.AUTH_SERVICE_UNAVAILABLE();
      }
      const user = await upsertExternalUser(ctx, ext, input.trail?.actor);
      if (user.disabledAt) return failLogin(ctx, user.id);
      return completeLogin(ctx, user, keys, counted, input.userAgent);
    },
    input,
  );
}

/** The chat login: the external service when AUTH_SERVICE_URL is set, else the local password. */
export function chatLogin(ctx: Ctx, input: LoginInput): Promise<LoginOutcome> {
  const url = ctx.config.authServiceUrl;
  return url ? externalLogin(ctx, url, input) : passwordLogin(ctx, input);
}
