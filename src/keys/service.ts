import { and, count, desc, eq, gt, ilike, isNotNull, isNull, lte, or, sql } from "drizzle-orm";
import type { DB } from "../db/client";
import { apiKeys, type ApiKey } from "./schema";
import { users } from "../identity/schema";
import type { KeyLevel } from "../kernel/principal";
import { KEY_ERRORS } from "./errors";
import type { RevocationBus } from "../kernel/revocations";
import { NO_EVENTS, type EventSink } from "../kernel/events";
import { newId } from "../ids";
import { audit, diff, type AuditTrail } from "../audit/service";
import { normaliseDomain } from "./domains";
import { generateKey, type KeyEnvironment } from "./key-format";
import { parseInstant, storableInstant } from "../http/instants";
import { cursorAt, decodeCursor, encodeCursor, type Page } from "../http/paging";

/** What a revocation answers (a success, not an error). */
export const KEY_REVOKED = "API key successfully revoked";

// A revoked key's entry must outlive every cache that may still hold the key (5 min) and every
// chat token minted with it (30 min); after that the row's revoked_at is the truth.
const REVOCATION_HORIZON_MS = 60 * 60_000;

export interface NewKeyInput {
  userId: string;
  name: string;
  level: KeyLevel;
  environment?: KeyEnvironment;
  allowedDomains?: string[];
  expiresAt?: string | null;
  /** Admin-created keys only: "introspect" lets the key call POST /oauth/introspect and /oauth/revoke. */
  scopes?: string[];
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function createdView(row: ApiKey, key: string) {
  return {
    id: row.id,
    name: row.name,
    level: row.level,
    key,
    created_at: row.createdAt.toISOString(),
    expires_at: iso(row.expiresAt),
    allowed_domains: row.allowedDomains,
    // Only when the key has any: the contract's created body is unchanged for ordinary keys.
    ...(row.scopes.length ? { scopes: row.scopes } : {}),
  };
}

export function listedView(row: ApiKey) {
  return {
    id: row.id,
    user_id: row.userId,
    name: row.name,
    level: row.level,
    environment: row.environment,
    start: row.start,
    allowed_domains: row.allowedDomains,
    created_at: row.createdAt.toISOString(),
    expires_at: iso(row.expiresAt),
    revoked_at: iso(row.revokedAt),
    last_used_at: iso(row.lastUsedAt),
  };
}

function parseDomains(list: string[] = []): string[] {
  const out = list.map(normaliseDomain);
  if (out.some((d) => d === undefined)) throw KEY_ERRORS.BAD_DOMAIN();
  return [...new Set(out as string[])];
}

function parseExpiry(value: string | null | undefined): Date | null {
  if (value == null) return null;
  // The model's date-time format lets through February 30 (Date makes it March 2) and, after an
  // offset, the year 10000 (a 500 in SQL).
  const ms = parseInstant(value);
  if (ms === undefined || !storableInstant(ms)) throw KEY_ERRORS.BAD_EXPIRY();
  const at = new Date(ms);
  if (at.getTime() <= Date.now()) throw KEY_ERRORS.PAST_EXPIRY();
  return at;
}

/** What events say about a key: never its secret or hash. */
export const keyEventData = (k: ApiKey) => ({
  key_id: k.id,
  user_id: k.userId,
  name: k.name,
  level: k.level,
  environment: k.environment,
  expires_at: k.expiresAt?.toISOString() ?? null,
});

/** Creates a key; the returned `key` exists nowhere else (only its hash is stored). */
export async function createKey(db: DB, input: NewKeyInput, events: EventSink = NO_EVENTS, trail?: AuditTrail): Promise<{ row: ApiKey; key: string }> {
  const allowedDomains = parseDomains(input.allowedDomains);
  const expiresAt = parseExpiry(input.expiresAt);
  const [owner] = await db.select({ id: users.id }).from(users).where(eq(users.id, input.userId));
  if (!owner) throw KEY_ERRORS.USER_NOT_FOUND();
  const environment = input.environment ?? "live";
  const made = generateKey(environment);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(apiKeys)
      .values({
        id: newId("key"),
        userId: input.userId,
        name: input.name,
        level: input.level,
        environment,
        keyHash: made.hash,
        start: made.start,
        allowedDomains,
        expiresAt,
        scopes: [...new Set(input.scopes ?? [])],
      })
      .returning();
    const r = row!;
    const created = {
      user_id: r.userId,
      name: r.name,
      level: r.level,
      environment: r.environment,
      allowed_domains: r.allowedDomains,
      expires_at: iso(r.expiresAt),
      ...(r.scopes.length ? { scopes: r.scopes } : {}),
    };
    await events.emit(tx, "api_key.created", keyEventData(r));
    await audit(tx, trail, { action: "api_key.created", target: { type: "api_key", id: r.id }, changes: diff({}, created) });
    return { row: r, key: made.key };
  });
}

/** 404 unless a key with this id exists (revoked keys included: their quota may still be set). */
export async function keyExists(db: DB, keyId: string): Promise<void> {
  const [row] = await db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.id, keyId));
  if (!row) throw KEY_ERRORS.KEY_NOT_FOUND();
}

export function rolledView(row: ApiKey, key: string) {
  return { ...createdView(row, key), previous_key_expires_at: iso(row.previousExpiresAt)! };
}

// How long other instances must drop a rolled key's cache entries for: longer than any cache
// (positive entries are re-read after 5 min) could still hold the pre-roll row.
const ROLL_NOTICE_MS = 10 * 60_000;

/**
 * Gives the key a new secret and keeps the old one valid for `graceS` seconds (0: refused at
 * once). The id, level, domains, expiry, usage and last-used stay. A secret replaced earlier and
 * still in its grace is dropped: only the secret just replaced is kept. The row is locked so two
 * rolls cannot both keep "the previous" secret; the bus tells every instance to re-read the key.
 */
export async function rollKey(
  db: DB,
  bus: RevocationBus,
  keyId: string,
  graceS: number,
  ownerId?: string,
  trail?: AuditTrail,
  events: EventSink = NO_EVENTS,
): Promise<{ row: ApiKey; key: string }> {
  const where = ownerId ? and(eq(apiKeys.id, keyId), eq(apiKeys.userId, ownerId)) : eq(apiKeys.id, keyId);
  return db.transaction(async (tx) => {
    const [current] = await tx.select().from(apiKeys).where(where).for("update");
    if (!current) throw KEY_ERRORS.KEY_NOT_FOUND();
    if (current.revokedAt) throw KEY_ERRORS.KEY_REVOKED_CANNOT_ROLL();
    const made = generateKey(current.environment);
    const [row] = await tx
      .update(apiKeys)
      .set({
        keyHash: made.hash,
        start: made.start,
        previousKeyHash: current.keyHash,
        previousExpiresAt: sql`now() + make_interval(secs => ${graceS})`,
      })
      .where(eq(apiKeys.id, keyId))
      .returning();
    await bus.publish([{ kind: "api_key_changed", subject: keyId, expiresAt: new Date(Date.now() + ROLL_NOTICE_MS) }], tx as unknown as DB);
    await events.emit(tx as unknown as DB, "api_key.rolled", { ...keyEventData(row!), previous_key_expires_at: iso(row!.previousExpiresAt) });
    // The secrets' first characters only (the listing shows them too): never a secret.
    await audit(tx, trail, {
      action: "api_key.rolled",
      target: { type: "api_key", id: keyId },
      changes: { start: [current.start, made.start], previous_key_expires_at: [iso(current.previousExpiresAt), iso(row!.previousExpiresAt)] },
    });
    return { row: row!, key: made.key };
  });
}

/** What the admin list may be narrowed to; every field is optional. */
export interface KeyFilter {
  userId?: string;
  /** The key's id, part of its name or its owner's email or name, or the key's first characters. */
  q?: string;
  level?: KeyLevel;
  environment?: KeyEnvironment;
  status?: "active" | "revoked" | "expired";
}

// LIKE's own wildcards in a search are literal characters, not patterns.
const likeText = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

function filterWhere(f: KeyFilter) {
  const q = f.q?.trim();
  const pattern = q ? `%${likeText(q)}%` : undefined;
  return and(
    f.userId ? eq(apiKeys.userId, f.userId) : undefined,
    pattern ? or(eq(apiKeys.id, q!), ilike(apiKeys.name, pattern), ilike(users.email, pattern), ilike(users.name, pattern), ilike(apiKeys.start, `${likeText(q!)}%`)) : undefined,
    f.level ? eq(apiKeys.level, f.level) : undefined,
    f.environment ? eq(apiKeys.environment, f.environment) : undefined,
    f.status === "revoked" ? isNotNull(apiKeys.revokedAt) : undefined,
    f.status === "active" ? and(isNull(apiKeys.revokedAt), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, sql`now()`))) : undefined,
    f.status === "expired" ? and(isNull(apiKeys.revokedAt), lte(apiKeys.expiresAt, sql`now()`)) : undefined,
  );
}

/**
 * One page, newest first (after a cursor, or at an offset), the total of the selection and the
 * next page's cursor; each key with its owner's email (null only if the owner row is gone).
 */
export async function listKeys(
  db: DB,
  filter: KeyFilter,
  page: Page,
  after?: string,
): Promise<{ rows: Array<ApiKey & { userEmail: string | null }>; total: number; next: string | null }> {
  const from = after ? decodeCursor(after) : undefined;
  const where = filterWhere(filter);
  const before = from ? sql`(${apiKeys.createdAt}, ${apiKeys.id}) < (${from.at}::timestamptz, ${from.id})` : undefined;
  const [found, [all]] = await Promise.all([
    db
      .select({ k: apiKeys, email: users.email, at: cursorAt(apiKeys.createdAt) })
      .from(apiKeys)
      .leftJoin(users, eq(users.id, apiKeys.userId))
      .where(and(where, before))
      .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
      .limit(page.limit)
      .offset(page.offset),
    db.select({ n: count() }).from(apiKeys).leftJoin(users, eq(users.id, apiKeys.userId)).where(where),
  ]);
  const last = found.at(-1);
  return {
    rows: found.map((r) => ({ ...r.k, userEmail: r.email })),
    total: all?.n ?? 0,
    next: last && found.length === page.limit ? encodeCursor({ at: last.at, id: last.k.id }) : null,
  };
}

/**
 * Marks the key revoked and announces it on the revocation bus in one transaction; the bus
 * drops it from this instance's cache at once and from the others' via NOTIFY. With `ownerId`
 * only that user's keys are found (another user's key is "not found", not "forbidden").
 * Revoking a revoked key answers the same, without a second announcement.
 */
export async function revokeKey(db: DB, bus: RevocationBus, keyId: string, ownerId?: string, events: EventSink = NO_EVENTS, trail?: AuditTrail): Promise<void> {
  const where = ownerId ? and(eq(apiKeys.id, keyId), eq(apiKeys.userId, ownerId)) : eq(apiKeys.id, keyId);
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(apiKeys)
      .set({ revokedAt: sql`now()` })
      .where(and(where, isNull(apiKeys.revokedAt)))
      .returning();
    if (!row) {
      const [existing] = await tx.select({ id: apiKeys.id }).from(apiKeys).where(where);
      if (!existing) throw KEY_ERRORS.KEY_NOT_FOUND();
      return;
    }
    await bus.publish([{ kind: "api_key", subject: row.id, expiresAt: new Date(Date.now() + REVOCATION_HORIZON_MS) }], tx as unknown as DB);
    await events.emit(tx as unknown as DB, "api_key.revoked", keyEventData(row));
    await audit(tx, trail, { action: "api_key.revoked", target: { type: "api_key", id: row.id }, changes: { revoked_at: [null, iso(row.revokedAt)] } });
  });
}

/**
 * Revokes every live key of a user inside the caller's transaction (revoke-all with
 * `include_api_keys`, an admin's `revoke_api_keys`), announcing each on the bus like revokeKey.
 * Returns how many were revoked.
 */
export async function revokeKeysOf(tx: DB, bus: RevocationBus, userId: string, events: EventSink = NO_EVENTS): Promise<number> {
  const rows = await tx
    .update(apiKeys)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
    .returning();
  for (const r of rows) await events.emit(tx, "api_key.revoked", keyEventData(r));
  const expiresAt = new Date(Date.now() + REVOCATION_HORIZON_MS);
  if (rows.length > 0)
    await bus.publish(
      rows.map((r) => ({ kind: "api_key" as const, subject: r.id, expiresAt })),
      tx,
    );
  return rows.length;
}
