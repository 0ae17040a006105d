import { t } from "elysia";
import { sql } from "drizzle-orm";
import { HTTP_ERRORS } from "./errors";

// Paging parameters of every list route, checked here so that no number a query string can carry
// (negative, fractional, beyond a bigint, NaN) reaches SQL. Offsets stop at 2^31 - 1: far past any
// real table, and well inside Postgres' bigint and JavaScript's exact integers.
export const MAX_OFFSET = 2_147_483_647;

/** `limit` (1..max, `def` when absent) and `offset` query fields, for spreading into a t.Object. */
export function pageFields(max: number, def: number) {
  return {
    limit: t.Optional(
      t.Numeric({ minimum: 1, maximum: max, multipleOf: 1, description: `page size, default ${def}, at most ${max}`, error: `limit: must be a whole number from 1 to ${max}` }),
    ),
    offset: t.Optional(t.Numeric({ minimum: 0, maximum: MAX_OFFSET, multipleOf: 1, description: "rows to skip", error: `offset: must be a whole number from 0 to ${MAX_OFFSET}` })),
  };
}

export interface Page {
  limit: number;
  offset: number;
}

export function pageOf(query: { limit?: number; offset?: number; after?: string }, def: number): Page {
  if (query.after !== undefined && query.offset) throw HTTP_ERRORS.OFFSET_AND_AFTER();
  return { limit: query.limit ?? def, offset: query.offset ?? 0 };
}

// Keyset paging for the big lists: an offset costs a scan of every row it skips, a cursor does
// not. The cursor is the last row's (created_at, id), with the timestamp as Postgres prints it,
// so the comparison is exact to the microsecond; it is opaque to clients (base64url).
export const cursorField = {
  after: t.Optional(
    t.String({ maxLength: 300, pattern: "^[A-Za-z0-9_-]+$", description: "the next_cursor of the previous page (instead of offset)", error: HTTP_ERRORS.BAD_CURSOR.message }),
  ),
};

export interface Cursor {
  at: string;
  id: string;
}

// What cursorAt() prints: a UTC instant with microseconds, that Postgres reads back exactly.
// The round trip through Date also refuses days that do not exist (Postgres would fail on them).
// Year 0000 is refused too: JavaScript takes it, Postgres has no year 0.
function exactInstant(at: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(at) || at.startsWith("0000")) return false;
  const ms = Date.parse(at);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 19) === at.slice(0, 19);
}

// Row ids are printable ASCII (newId's prefix_base62, chatflow UUIDs); a cursor's id is sent to
// Postgres as text, which holds no NUL, so anything else is no cursor of ours.
const ROW_ID = /^[\x21-\x7e]{1,199}$/;

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.at, c.id])).toString("base64url");
}

export function decodeCursor(raw: string): Cursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as unknown[];
    if (typeof at === "string" && typeof id === "string" && ROW_ID.test(id) && exactInstant(at)) return { at, id };
  } catch {
    // fall through: any undecodable cursor is the same client error
  }
  throw HTTP_ERRORS.BAD_CURSOR();
}

/** The SQL that prints a row's created_at for a cursor (see exactInstant). */
export const cursorAt = (column: unknown) => sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
