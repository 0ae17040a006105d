import { t } from "elysia";

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
    offset: t.Optional(
      t.Numeric({ minimum: 0, maximum: MAX_OFFSET, multipleOf: 1, description: "rows to skip", error: `offset: must be a whole number from 0 to ${MAX_OFFSET}` }),
    ),
  };
}

export interface Page {
  limit: number;
  offset: number;
}

export function pageOf(query: { limit?: number; offset?: number }, def: number): Page {
  return { limit: query.limit ?? def, offset: query.offset ?? 0 };
}
