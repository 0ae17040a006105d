import { and, desc, eq, gte, lt, lte, sql } from "drizzle-orm";
import type { DB } from "../db/client";
import type { Principal } from "../kernel/principal";
import { AUDIT_ERRORS } from "./errors";
import { parseInstant, storableInstant } from "../http/instants";
import { type Cursor, cursorAt, decodeCursor, encodeCursor } from "../http/paging";
import { type AuditChanges, type AuditEvent, auditEvents } from "./schema";
import type { AuditEventView, AuditPage, AuditQuery } from "./model";

/** Who did it, from where, in which request: built by the handler, passed to services as a value. */
export interface AuditActor {
  /** `system`: chatgate itself (id names what: `bootstrap`, `auth_service`); `cli`: a `chatgate` command. */
  type: "user" | "api_key" | "api_token" | "system" | "cli" | "anonymous";
  id: string | null;
  ip: string | null;
  requestId: string | null;
}

/**
 * One audited action. Action names match the webhook event names where both exist
 * (`api_key.created|rolled|revoked`, `api_token.issued|revoked`, `user.created|disabled|enabled`, ...).
 */
export interface AuditEntry {
  action: string;
  target: { type: string; id: string | null };
  changes?: AuditChanges;
}

/** Writes one row with `db` (the caller's transaction when the change is transactional). */
export type Recorder = (db: DB, actor: AuditActor, entry: AuditEntry) => Promise<void>;

/** What a service needs to audit: the recorder (from app.ts) and who is acting. */
export interface AuditTrail {
  record: Recorder;
  actor: AuditActor;
}

// A field whose name says it holds a credential never reaches a row, whatever the caller passed.
const SECRET_FIELD = /password|secret|token|hash|^key$|_key$/i;

export function actorOf(principal: Principal | undefined, ip: string | null, requestId: string | null): AuditActor {
  if (!principal) return { type: "anonymous", id: null, ip, requestId };
  // A key or admin token acts for its user: the user is the actor, the credential is in the log line.
  const type = principal.kind === "apiKey" ? "api_key" : principal.kind === "apiToken" ? "api_token" : "user";
  return { type, id: type === "api_key" ? principal.tokenId : principal.user.id, ip, requestId };
}

export const SYSTEM_ACTOR: AuditActor = { type: "system", id: null, ip: null, requestId: null };

/** The first admin, made at start-up when the users table is empty. */
export const BOOTSTRAP_ACTOR: AuditActor = { type: "system", id: "bootstrap", ip: null, requestId: null };

/** `chatgate user create` and other commands run on the server by its operator. */
export const CLI_ACTOR: AuditActor = { type: "cli", id: null, ip: null, requestId: null };

export function cleanChanges(changes: AuditChanges = {}): AuditChanges {
  const out: AuditChanges = {};
  for (const [field, pair] of Object.entries(changes)) if (!SECRET_FIELD.test(field)) out[field] = pair;
  return out;
}

/** `{field: [before, after]}` for the fields of `after` whose value differs from `before`'s. */
export function diff<T extends Record<string, unknown>>(before: Partial<T>, after: Partial<T>): AuditChanges {
  const out: AuditChanges = {};
  for (const [k, v] of Object.entries(after)) {
    if (v === undefined) continue;
    const was = before[k];
    if (JSON.stringify(was) !== JSON.stringify(v)) out[k] = [was ?? null, v];
  }
  return out;
}

export const record: Recorder = async (db, actor, entry) => {
  await db.insert(auditEvents).values({
    actorType: actor.type,
    actorId: actor.id,
    action: entry.action,
    targetType: entry.target.type,
    targetId: entry.target.id,
    ip: actor.ip,
    requestId: actor.requestId,
    changes: cleanChanges(entry.changes),
  });
};

/** Records through the trail when there is one (services called outside a request pass none). */
export function audit(db: DB, trail: AuditTrail | undefined, entry: AuditEntry): Promise<void> {
  return trail ? trail.record(db, trail.actor, entry) : Promise.resolve();
}

export interface AuditFilter {
  action?: string;
  actorId?: string;
  targetId?: string;
  since?: Date;
  until?: Date;
}

function instantOf(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const ms = parseInstant(value);
  if (ms === undefined || !storableInstant(ms)) throw AUDIT_ERRORS.BAD_INSTANT(name);
  return new Date(ms);
}

/**
 * The query's filter, checked whole before any row is read: an export has sent its 200 by the
 * time it reads, so nothing it reads may fail on the client's input. The model's date-time format
 * lets through days the calendar lacks and years Postgres lacks (0, and 10000 after an offset).
 */
export function auditFilterOf(q: Pick<AuditQuery, "action" | "actor_id" | "target_id" | "since" | "until">): AuditFilter {
  const since = instantOf("since", q.since);
  const until = instantOf("until", q.until);
  if (since && until && until < since) throw AUDIT_ERRORS.RANGE_ORDER();
  return { action: q.action, actorId: q.actor_id, targetId: q.target_id, since, until };
}

export function eventView(e: AuditEvent): AuditEventView {
  return {
    id: e.id,
    at: e.at.toISOString(),
    actor: { type: e.actorType, id: e.actorId },
    action: e.action,
    target: { type: e.targetType, id: e.targetId },
    ip: e.ip,
    request_id: e.requestId,
    changes: e.changes,
  };
}

export type EventView = AuditEventView;

/** A cursor from the query, decoded before any row is read (see auditFilterOf). */
export function auditCursorOf(raw: string): Cursor {
  try {
    return decodeCursor(raw);
  } catch {
    throw AUDIT_ERRORS.BAD_CURSOR();
  }
}

/** One page newest first, keyset on (at, id), after `from`, and where the next page starts (null at the end). */
export async function readEvents(db: DB, f: AuditFilter, limit: number, from?: Cursor): Promise<{ events: AuditEventView[]; next: Cursor | null }> {
  const rows = await db
    .select({ e: auditEvents, at: cursorAt(auditEvents.at) })
    .from(auditEvents)
    .where(
      and(
        f.action ? eq(auditEvents.action, f.action) : undefined,
        f.actorId ? eq(auditEvents.actorId, f.actorId) : undefined,
        f.targetId ? eq(auditEvents.targetId, f.targetId) : undefined,
        f.since ? gte(auditEvents.at, f.since) : undefined,
        f.until ? lte(auditEvents.at, f.until) : undefined,
        from ? sql`(${auditEvents.at}, ${auditEvents.id}) < (${from.at}::timestamptz, ${from.id})` : undefined,
      ),
    )
    .orderBy(desc(auditEvents.at), desc(auditEvents.id))
    .limit(limit);
  const last = rows.at(-1);
  return { events: rows.map((r) => eventView(r.e)), next: last && rows.length === limit ? { at: last.at, id: last.e.id } : null };
}

/** The JSON page: readEvents with its next cursor encoded for the client. */
export async function listEvents(db: DB, f: AuditFilter, limit: number, from?: Cursor): Promise<AuditPage> {
  const { events, next } = await readEvents(db, f, limit, from);
  return { events, next_cursor: next ? encodeCursor(next) : null };
}

/** Deletes rows older than `days`; returns how many. */
export async function pruneEvents(db: DB, days: number): Promise<number> {
  const gone = await db
    .delete(auditEvents)
    .where(lt(auditEvents.at, sql`now() - ${days}::int * interval '1 day'`))
    .returning({ id: auditEvents.id });
  return gone.length;
}
