// Row counts of every table of the app's schema, in one query, to show a request changed nothing.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../src/db/client";
import type { TestApp } from "../helpers";

export type Counts = Record<string, number>;

export async function tableNames(t: TestApp): Promise<string[]> {
  const rows = rowsOf<{ table_name: string }>(
    await t.ctx.db.execute(sql`select table_name from information_schema.tables
      where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`),
  );
  return rows.map((r) => r.table_name).filter((n) => /^[a-z_][a-z0-9_]*$/.test(n));
}

export async function rowCounts(t: TestApp, tables: string[]): Promise<Counts> {
  if (tables.length === 0) return {};
  const query = tables.map((n) => `select '${n}' as t, count(*)::int as n from "${n}"`).join(" union all ");
  const rows = rowsOf<{ t: string; n: number }>(await t.ctx.db.execute(sql.raw(query)));
  return Object.fromEntries(rows.map((r) => [r.t, Number(r.n)]));
}

/** Tables whose count differs, except the ones named. */
export function changed(before: Counts, after: Counts, except: string[] = []): string[] {
  return Object.keys(after).filter((k) => !except.includes(k) && before[k] !== after[k]);
}
