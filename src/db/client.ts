import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import net from "node:net";
import postgres from "postgres";
import type { Logger } from "../http/logger";
import { startDbSpan, tracingEnabled } from "../ops/tracing";
import { RemotePglite } from "./pglite-remote";
import * as schema from "./schema";

export type DB = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: DB;
  kind: "pglite" | "postgres";
  /** Prefix for LISTEN/NOTIFY channels: channels are per database, test schemas share one. */
  channelPrefix: string;
  /** `onListen` runs on every (re)connect of the listening connection: notifications sent while
   * it was down are lost, so callers replay what they need there. */
  listen(channel: string, onPayload: (payload: string) => void, onListen?: () => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
  /** Postgres only: the pool's size, and the queries/transactions holding or awaiting a connection. */
  pool?: () => { max: number; inUse: number; waiting: number };
}

export interface OpenOptions {
  databaseUrl?: string;
  dataDir: string;
  /** Postgres only: run in this schema (created if missing). Tests use one per app. */
  schema?: string;
  poolSize?: number;
  /** PgBouncer between chatgate and Postgres (see README "Running several instances"). */
  pooler?: "none" | "session" | "transaction";
  /** A direct connection for LISTEN (required behind a transaction pooler). */
  listenUrl?: string;
  /** Where the embedded database's worker reports its own death (default: error lines on stdout). */
  log?: Logger;
}

const STATEMENT_TIMEOUT_MS = 15000;
// statement_timeout is enforced by the server, so it cannot end a query on a connection whose
// server has gone silent (a partition: no FIN, no RST; TCP retries for many minutes). A
// connection that owes an answer and has received nothing for this long is destroyed, which
// fails its queries (CONNECTION_CLOSED → 503) and lets the pool open a new one.
const SILENCE_MS = STATEMENT_TIMEOUT_MS + 2000;

// postgres.js queues a query for as long as no connection can take it (the database down:
// every attempt waits out connect_timeout, then the next one does). Past this, a query that has
// not reached a connection is cancelled (57014 → 503), and a transaction that has not begun gives up.
const ACQUIRE_MS = 5000;

const noConnection = () => Object.assign(new Error("no database connection available in time"), { code: "57014" });

type Sql = ReturnType<typeof postgres>;
type PendingQuery = ReturnType<Sql["unsafe"]> & { state?: unknown };

/** What the pool is doing, for /metrics: postgres.js keeps its queues to itself. */
interface PoolUse {
  queries: Set<PendingQuery>;
  txRunning: number;
  txWaiting: number;
}

/**
 * The pool as Drizzle sees it, with ACQUIRE_MS on every query and transaction. Behind a pooler
 * statement_timeout cannot be a start-up parameter (PgBouncer refuses unknown ones, and a
 * transaction pooler would not keep a session setting): each transaction sets it locally.
 */
function withAcquireDeadline(client: Sql, use: PoolUse, localTimeout: boolean): Sql {
  const unsafe = (...args: Parameters<Sql["unsafe"]>) => {
    const q = client.unsafe(...args) as PendingQuery;
    const timer = setTimeout(() => {
      if (!q.state) void q.cancel();
    }, ACQUIRE_MS);
    use.queries.add(q);
    const endSpan = startDbSpan("postgresql", args[0]);
    const done = (error?: unknown) => {
      clearTimeout(timer);
      use.queries.delete(q);
      endSpan(error);
    };
    // Attaching starts the query, as Drizzle's own await does right after (values() is set first).
    q.then(() => done(), done);
    return q;
  };
  const begin = (...args: unknown[]) => {
    const fn = args.pop() as (tx: unknown) => unknown;
    let started = false;
    let expired = false;
    use.txWaiting++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (started) return;
        expired = true;
        reject(noConnection());
      }, ACQUIRE_MS);
      (client.begin as (...a: unknown[]) => Promise<unknown>)(...args, async (tx: unknown) => {
        // Too late: the caller has its 503; begun now, this must do nothing (rolled back).
        if (expired) throw noConnection();
        started = true;
        use.txWaiting--;
        use.txRunning++;
        clearTimeout(timer);
        if (localTimeout) await (tx as Sql).unsafe(`set local statement_timeout = ${STATEMENT_TIMEOUT_MS}`);
        return fn(tx);
      })
        .then(resolve, reject)
        .finally(() => {
          clearTimeout(timer);
          if (started) use.txRunning--;
          else use.txWaiting--;
        });
    });
  };
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === "unsafe") return unsafe;
      if (prop === "begin") return begin;
      return Reflect.get(target, prop, receiver);
    },
  });
}

/** ReadyForQuery ('Z', length 5, status) ends every answer: nothing more is owed after it. */
function endsAnswer(chunk: Buffer): boolean {
  const n = chunk.length;
  return n >= 6 && chunk[n - 6] === 0x5a && chunk.readInt32BE(n - 5) === 5;
}

/**
 * The socket postgres.js would open, with an answer deadline (see SILENCE_MS). It is handed over
 * while still connecting (writes wait for the connection), so refusals and postgres.js's own
 * connect timeout and reconnects behave exactly as with its default socket.
 */
function watchedSocket(options: { host: string[]; port: number[] }): net.Socket {
  const socket = net.connect(options.port[0]!, options.host[0]!);
  let silence: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(silence);
    // Destroyed without an error object: an 'error' event could find no listener (postgres.js
    // removes its listeners from sockets it is done with) and would end the process. The close
    // alone fails the queries owed on this connection (CONNECTION_CLOSED → 503).
    silence = setTimeout(() => socket.destroy(), SILENCE_MS);
  };
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  socket.write = ((...args: unknown[]) => {
    if (!silence) arm();
    return write(...args);
  }) as typeof socket.write;
  socket.on("data", (chunk: Buffer) => {
    // Only while an answer is owed: a LISTEN connection's notifications arrive unasked.
    if (!silence) return;
    if (endsAnswer(chunk)) {
      clearTimeout(silence);
      silence = undefined;
    } else arm();
  });
  socket.on("close", () => {
    clearTimeout(silence);
    // postgres.js removes every listener once closed; a late error event must not be uncaught.
    process.nextTick(() => socket.on("error", () => {}));
  });
  return socket;
}

/** PGlite as Drizzle sees it, with a span per statement when tracing is on. */
function tracedPglite<T extends object>(pg: T): T {
  const traced =
    (name: "query" | "exec") =>
    async (statement: string, ...rest: unknown[]) => {
      const end = startDbSpan("pglite", statement);
      try {
        const out = await ((pg as Record<string, unknown>)[name] as (...a: unknown[]) => Promise<unknown>).call(pg, statement, ...rest);
        end();
        return out;
      } catch (e) {
        end(e);
        throw e;
      }
    };
  const query = traced("query");
  const exec = traced("exec");
  return new Proxy(pg, {
    get(target, prop, receiver) {
      if (prop === "query") return query;
      if (prop === "exec") return exec;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** Rows of a `db.execute()` result: postgres.js returns an array, PGlite `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts) : openEmbedded(opts.dataDir, opts.log);
}

async function openEmbedded(dataDir: string, log?: Logger): Promise<Database> {
  // PGlite runs in a worker thread (see pglite-remote.ts); Drizzle's PGlite driver talks to it.
  const pg = await RemotePglite.open(dataDir, log);
  const db = drizzlePglite({ client: (tracingEnabled() ? tracedPglite(pg) : pg) as never, schema }) as unknown as DB;
  return {
    db,
    kind: "pglite",
    channelPrefix: "chatgate",
    async listen(channel, onPayload) {
      const unsub = await pg.listen(channel, onPayload);
      return async () => unsub();
    },
    async notify(channel, payload) {
      await db.execute(sql`select pg_notify(${channel}, ${payload})`);
    },
    async ping() {
      await pg.query("select 1");
    },
    async close() {
      if (!pg.closed) await pg.close();
    },
  };
}

async function openPostgres(url: string, opts: OpenOptions): Promise<Database> {
  const schemaName = opts.schema;
  if (schemaName && !/^[a-z_][a-z0-9_]{0,62}$/.test(schemaName)) throw new Error("invalid schema name");
  const pooled = (opts.pooler ?? "none") !== "none";
  const connect = (target: string, max: number) =>
    postgres(target, {
      max,
      // Bounded timeouts: a lost database must surface as a fast failure, never a hung request.
      connect_timeout: 5,
      // Reconnect within a second of the database coming back: postgres.js's default backoff grows
      // to 20 s during an outage, and the LISTEN connection (revocations from other instances)
      // would stay away that long.
      backoff: (retries: number) => Math.min(0.1 * 2 ** retries, 1),
      // Not in postgres.js's types, but documented: a function returning the socket to use.
      ...({ socket: watchedSocket } as object),
      idle_timeout: 30,
      // A named prepared statement lives in one server session; a transaction pooler runs each
      // transaction on whichever server is free, where it does not exist.
      prepare: opts.pooler !== "transaction",
      onnotice: () => {},
      connection: {
        application_name: "chatgate",
        ...(pooled ? {} : { statement_timeout: STATEMENT_TIMEOUT_MS }),
        ...(schemaName ? { search_path: schemaName } : {}),
      },
    });
  const client = connect(url, opts.poolSize ?? 10);
  // LISTEN needs a session of its own; behind a transaction pooler it gets a direct connection.
  const listener = opts.listenUrl ? connect(opts.listenUrl, 1) : client;
  if (schemaName) await client.unsafe(`create schema if not exists "${schemaName}"`);
  const use: PoolUse = { queries: new Set(), txRunning: 0, txWaiting: 0 };
  const max = opts.poolSize ?? 10;
  const db = drizzlePostgres({ client: withAcquireDeadline(client, use, pooled), schema }) as unknown as DB;
  return {
    db,
    kind: "postgres",
    pool() {
      // A query has `state` once a connection runs it; before that it waits in the pool's queue.
      let running = 0;
      for (const q of use.queries) if (q.state) running++;
      return { max, inUse: running + use.txRunning, waiting: use.queries.size - running + use.txWaiting };
    },
    channelPrefix: schemaName ? `chatgate_${schemaName}` : "chatgate",
    async listen(channel, onPayload, onListen) {
      const sub = await listener.listen(channel, (p) => onPayload(p), onListen);
      return async () => sub.unlisten();
    },
    async notify(channel, payload) {
      await client`select pg_notify(${channel}, ${payload})`;
    },
    async ping() {
      await client`select 1`;
    },
    async close() {
      await Promise.all([client.end({ timeout: 5 }), listener !== client ? listener.end({ timeout: 5 }) : undefined]);
    },
  };
}
