import { audit, type AuditTrail } from "../audit/service";
import { and, count, desc, eq, isNull, sql } from "drizzle-orm";
import type { Core } from "../kernel/core";
import type { EventSink } from "../kernel/events";
import type { UsageRecorder } from "../kernel/usage";
import { apiTokens, type ApiToken } from "./schema";
import { ADMIN_TOKEN_ERRORS } from "./errors";
import { parseInstant, storableInstant } from "../http/instants";
import { newId } from "../ids";
import { identityMetrics } from "../identity/metrics";
import { apiTokenRevoked } from "../identity/session-ends";
import type { UserState } from "../kernel/principal";
import { findUserById } from "../identity/users";
import type { ApiTokenView } from "./model";

type Ctx = Pick<Core, "db" | "signer" | "bus" | "metrics" | "log"> & { events: EventSink; usage?: UsageRecorder };

// ISO-8601 date, or date-time with an explicit zone (a zoneless time would depend on the host).

const asObject = (body: unknown) => (body && typeof body === "object" && !Array.isArray(body) ? body : {}) as Record<string, unknown>;

/** Absent or null: none. Blank counts as none; control characters would garble a list or a log. */
export function parseDescription(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (typeof value !== "string" || value.length > 200 || /[\u0000-\u001f\u007f]/.test(value)) throw ADMIN_TOKEN_ERRORS.BAD_DESCRIPTION();
  return value.trim() || null;
}

/** The body is checked here rather than by a schema so a caller without a token gets 401 first. */
function parseRequest(body: unknown): { userId: string; expiresAt: Date | null; description: string | null } {
  const b = asObject(body);
  const userId = b.userId;
  if (userId === undefined || userId === null || userId === "") throw ADMIN_TOKEN_ERRORS.USER_ID_REQUIRED();
  if (typeof userId !== "string" || userId.length > 100) throw ADMIN_TOKEN_ERRORS.USER_ID_NOT_STRING();
  const expiration = b.expiration;
  const description = parseDescription(b.description);
  if (expiration === undefined || expiration === null) return { userId, expiresAt: null, description };
  // parseInstant checks the calendar; storableInstant the years a timestamp holds (10000 was a 500).
  const ms = typeof expiration === "string" ? parseInstant(expiration) : undefined;
  if (ms === undefined || !storableInstant(ms)) throw ADMIN_TOKEN_ERRORS.BAD_EXPIRATION();
  const at = new Date(ms);
  if (at.getTime() <= Date.now()) throw ADMIN_TOKEN_ERRORS.PAST_EXPIRATION();
  return { userId, expiresAt: at, description };
}

export async function issueApiToken(ctx: Ctx, admin: UserState, body: unknown, trail?: AuditTrail): Promise<{ success: true; token: string; name: string }> {
  const { userId, expiresAt, description } = parseRequest(body);
  const user = await findUserById(ctx.db, userId);
  if (!user) throw ADMIN_TOKEN_ERRORS.USER_NOT_FOUND();
  if (user.disabledAt) throw ADMIN_TOKEN_ERRORS.USER_DISABLED();
  const id = newId("tok");
  const name = user.name || user.email;
  const nowSec = Math.floor(Date.now() / 1000);
  const ttl = expiresAt ? Math.max(1, Math.floor(expiresAt.getTime() / 1000) - nowSec) : null;
  await ctx.db.transaction(async (tx) => {
    await tx.insert(apiTokens).values({ id, userId: user.id, name, description, createdBy: admin.id, expiresAt });
    const changes = { user_id: [null, user.id], expires_at: [null, expiresAt?.toISOString() ?? null], description: [null, description] } as Record<string, [unknown, unknown]>;
    await audit(tx, trail, { action: "api_token.issued", target: { type: "api_token", id }, changes });
    await ctx.events.emit(tx, "api_token.issued", { id, user_id: user.id, name, by: admin.id, expires_at: expiresAt?.toISOString() ?? null });
  });
  const token = await ctx.signer.sign("api", { sub: user.id, jti: id, name }, ttl);
  identityMetrics(ctx.metrics).tokensIssued.inc({ kind: "api" });
  ctx.usage?.add("tokensApi", user.id);
  // `id`, not `token_id`: the logger redacts every field whose name contains "token".
  ctx.log.info("api token issued", { id, user_id: user.id, by: admin.id });
  return { success: true, token, name };
}

function view(r: ApiToken): ApiTokenView {
  const expired = r.expiresAt !== null && r.expiresAt.getTime() <= Date.now();
  return {
    id: r.id,
    userId: r.userId,
    name: r.name,
    description: r.description,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    expiresAt: r.expiresAt?.toISOString() ?? null,
    revokedAt: r.revokedAt?.toISOString() ?? null,
    lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
    active: r.revokedAt === null && !expired,
  };
}

/** One page, newest first, and how many there are in all (for one user, or everyone). */
export async function listApiTokens(
  ctx: Pick<Core, "db">,
  userId: string | undefined,
  page: { limit: number; offset: number },
): Promise<{ tokens: ApiTokenView[]; total: number }> {
  const where = userId ? eq(apiTokens.userId, userId) : undefined;
  const [rows, [all]] = await Promise.all([
    ctx.db.select().from(apiTokens).where(where).orderBy(desc(apiTokens.createdAt), desc(apiTokens.id)).limit(page.limit).offset(page.offset),
    ctx.db.select({ n: count() }).from(apiTokens).where(where),
  ]);
  return { tokens: rows.map(view), total: all?.n ?? 0 };
}

/** Changes what a token is for; the token itself is unchanged. */
export async function describeApiToken(ctx: Pick<Core, "db">, id: string, body: unknown, trail?: AuditTrail): Promise<ApiTokenView> {
  const b = asObject(body);
  if (b.description === undefined) throw ADMIN_TOKEN_ERRORS.BAD_DESCRIPTION();
  const description = parseDescription(b.description);
  return ctx.db.transaction(async (tx) => {
    const [before] = await tx.select().from(apiTokens).where(eq(apiTokens.id, id)).for("update");
    if (!before) throw ADMIN_TOKEN_ERRORS.TOKEN_NOT_FOUND();
    const [row] = await tx.update(apiTokens).set({ description }).where(eq(apiTokens.id, id)).returning();
    if (before.description !== description) {
      await audit(tx, trail, { action: "api_token.described", target: { type: "api_token", id }, changes: { description: [before.description, description] } });
    }
    return view(row!);
  });
}

/** Takes effect at once here and, through the revocation bus, on every other instance. */
export async function revokeApiToken(ctx: Ctx, admin: UserState, id: string, trail?: AuditTrail): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const [row] = await tx.select({ id: apiTokens.id }).from(apiTokens).where(eq(apiTokens.id, id));
    if (!row) throw ADMIN_TOKEN_ERRORS.TOKEN_NOT_FOUND();
    const changed = await tx
      .update(apiTokens)
      .set({ revokedAt: sql`now()` })
      .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
      .returning({ id: apiTokens.id });
    if (changed.length > 0) {
      await ctx.bus.publish([apiTokenRevoked(id)], tx);
      await ctx.events.emit(tx, "api_token.revoked", { id, by: admin.id });
      await audit(tx, trail, { action: "api_token.revoked", target: { type: "api_token", id }, changes: { revoked: [false, true] } });
    }
  });
  ctx.log.info("api token revoked", { id, by: admin.id });
}
