// Counts the SQL statements and transactions an app sends, at Drizzle's session layer (the same
// for PGlite and postgres.js, and for every transaction's own session), and marks in the same log
// the moment the Flowise prediction call leaves: so a test or bench can tell what ran before the
// upstream call and what after it. Process-wide while installed; uninstall when done.
import type { DB } from "../../src/db/client";

export type Entry = { kind: "statement"; sql: string } | { kind: "transaction" } | { kind: "upstream" };

export interface StatementLog {
  entries: Entry[];
  clear(): void;
  uninstall(): void;
}

export function recordStatements(db: DB): StatementLog {
  const entries: Entry[] = [];
  const proto = Object.getPrototypeOf((db as unknown as { session: object }).session) as Record<string, (...a: unknown[]) => unknown>;
  const prepare = proto.prepareQuery!;
  const transaction = proto.transaction!;
  const fetch0 = globalThis.fetch;
  proto.prepareQuery = function (this: unknown, query: unknown, ...rest: unknown[]) {
    entries.push({ kind: "statement", sql: (query as { sql: string }).sql });
    return prepare.call(this, query, ...rest);
  };
  proto.transaction = function (this: unknown, ...args: unknown[]) {
    entries.push({ kind: "transaction" });
    return transaction.apply(this, args);
  };
  globalThis.fetch = Object.assign(
    (input: string | URL | Request, init?: RequestInit) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      if (url.includes("/api/v1/prediction/")) entries.push({ kind: "upstream" });
      return fetch0(input, init);
    },
    { preconnect: fetch0.preconnect },
  ) as typeof fetch;
  return {
    entries,
    clear: () => void entries.splice(0),
    uninstall() {
      proto.prepareQuery = prepare;
      proto.transaction = transaction;
      globalThis.fetch = fetch0;
    },
  };
}

/** Statements on chat and credit tables, and transactions, before and after the upstream call. */
export function split(entries: Entry[], touches = /credit_|chat_messages|chat_sessions/): { before: string[]; after: string[] } {
  // The tests' own polling (`settled()` in test/chat/helpers.ts) is not the prediction's.
  entries = entries.filter((e) => !(e.kind === "statement" && e.sql.startsWith("select status, count(*)")));
  const at = entries.findIndex((e) => e.kind === "upstream");
  const pick = (es: Entry[]) => es.flatMap((e) => (e.kind === "transaction" ? ["BEGIN … COMMIT"] : e.kind === "statement" && touches.test(e.sql) ? [e.sql] : []));
  return at < 0 ? { before: pick(entries), after: [] } : { before: pick(entries.slice(0, at)), after: pick(entries.slice(at + 1)) };
}
