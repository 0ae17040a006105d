/**
 * The embedded database's thread: PGlite runs its SQL synchronously in wasm, so on the main thread
 * every statement stalled every request, even those that need no database. Here it owns a thread
 * of its own and speaks the small message protocol of ./pglite-protocol.ts with ./pglite-remote.ts.
 *
 * A compiled binary carries this file as a second entry point (`bun build --compile src/index.ts
 * src/db/pglite-worker.ts`); the wasm and data come from the main thread, compiled once.
 */
import type { PGlite, Transaction } from "@electric-sql/pglite";
import { memoryTemplateOf, openPglite } from "./pglite";
import type { FromWorker, QueryOptions, ToWorker, WireError } from "./pglite-protocol";

declare const self: Worker;

let pg: PGlite | undefined;
interface OpenTx {
  /** The transaction once BEGIN ran: statements sent right behind "begin" wait for it here. */
  ready: Promise<Transaction>;
  end?: (how: { commit: boolean; id: number }) => void;
}
const txs = new Map<number, OpenTx>();
const listening = new Map<string, () => Promise<void>>();

// A transaction the main thread still holds but this worker never had: it died with the worker
// before this one (a restart), so it is an unavailable database, not a bad request.
const NOT_OPEN = { message: "transaction is not open (lost with a previous worker)", code: "CONNECTION_CLOSED" };

const send = (m: FromWorker) => self.postMessage(m);

/** Postgres errors carry their fields (code, detail, constraint...) as own properties. */
function wireError(e: unknown): WireError {
  if (!(e instanceof Error)) return { message: String(e) };
  const out: WireError = { message: e.message, name: e.name };
  for (const [k, v] of Object.entries(e)) {
    if (k !== "query" && k !== "params" && (typeof v === "string" || typeof v === "number")) out[k] = v;
  }
  return out;
}

const reply = (id: number, p: Promise<unknown>) =>
  p.then(
    (v) => send({ t: "r", id, ok: true, v }),
    (e) => send({ t: "r", id, ok: false, e: wireError(e) }),
  );

/** Drizzle's parsers only keep some types as the raw text: named by oid, rebuilt here. */
function options(o: QueryOptions | undefined) {
  if (!o) return undefined;
  const parsers: Record<number, (v: string) => string> = {};
  for (const oid of o.raw ?? []) parsers[oid] = (v) => v;
  return { rowMode: o.rowMode, parsers };
}

/**
 * One transaction holds PGlite's only connection until the main thread ends it; PGlite queues
 * every other statement behind it. Whatever ends it (a rollback asked for, a failed COMMIT, the
 * callback's error), PGlite's own transaction() rolls back and releases. The main thread names
 * the transaction and sends its first statement without waiting for BEGIN: one round trip fewer.
 */
function begin(txId: number) {
  let opened!: (tx: Transaction) => void;
  let failed!: (e: unknown) => void;
  const entry: OpenTx = { ready: new Promise((resolve, reject) => ((opened = resolve), (failed = reject))) };
  entry.ready.catch(() => undefined);
  txs.set(txId, entry);
  let endId: number | undefined;
  pg!
    .transaction(async (tx) => {
      const how = await new Promise<{ commit: boolean; id: number }>((end) => {
        entry.end = end;
        opened(tx);
      });
      endId = how.id;
      if (!how.commit) await tx.rollback();
    })
    .then(
      () => send({ t: "r", id: endId!, ok: true, v: null }),
      (e) => {
        failed(e); // BEGIN itself failed: statements and the end waiting for it get the error
        if (endId !== undefined) send({ t: "r", id: endId, ok: false, e: wireError(e) });
      },
    )
    .finally(() => txs.delete(txId));
}

async function handle(m: ToWorker): Promise<void> {
  switch (m.t) {
    case "open": {
      const template = m.memoryTemplate;
      pg = await openPglite(m.dataDir, { assets: m.assets, memoryTemplate: template });
      // Hand the first memory:// data dir back, so the next worker skips initdb.
      const made = !template && m.dataDir.startsWith("memory://") ? await memoryTemplateOf() : undefined;
      return void send({ t: "r", id: m.id, ok: true, v: made ?? null });
    }
    case "q": {
      if (m.tx === undefined) return void reply(m.id, pg!.query(m.sql, m.params, options(m.opts)));
      const open = txs.get(m.tx);
      if (!open) return void send({ t: "r", id: m.id, ok: false, e: NOT_OPEN });
      return void reply(
        m.id,
        open.ready.then((tx) => tx.query(m.sql, m.params, options(m.opts))),
      );
    }
    case "begin":
      return begin(m.tx);
    case "end": {
      const open = txs.get(m.tx);
      if (!open) return void send({ t: "r", id: m.id, ok: false, e: NOT_OPEN });
      return void open.ready.then(
        () => open.end!({ commit: m.commit, id: m.id }),
        (e) => send({ t: "r", id: m.id, ok: false, e: wireError(e) }),
      );
    }
    case "listen":
      return void reply(
        m.id,
        (async () => {
          if (listening.has(m.channel)) return;
          listening.set(m.channel, await pg!.listen(m.channel, (payload) => send({ t: "n", channel: m.channel, payload })));
        })(),
      );
    case "unlisten":
      return void reply(
        m.id,
        (async () => {
          const off = listening.get(m.channel);
          listening.delete(m.channel);
          await off?.();
        })(),
      );
    case "close":
      return void reply(
        m.id,
        (async () => {
          if (pg && !pg.closed) await pg.close();
        })(),
      );
  }
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  handle(e.data).catch((err) => send({ t: "r", id: e.data.id, ok: false, e: wireError(err) }));
};
