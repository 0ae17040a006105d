/**
 * The main thread's side of the embedded database: a client with the slice of PGlite's API that
 * Drizzle's PGlite driver uses (`query`, `transaction`), whose statements run in
 * ./pglite-worker.ts. The HTTP thread only posts messages, so a request that needs no database
 * never waits behind one that does.
 *
 * If the worker dies, every statement owed and every later one fails with CONNECTION_CLOSED (a
 * 503 with Retry-After, like a lost Postgres), and the fault is logged once: never a hang.
 */
import type { Results, Transaction } from "@electric-sql/pglite";
import { createLogger, errorSummary, type Logger } from "../http/logger";
import { loadAssets } from "./pglite";
import type { FromWorker, QueryOptions, ToWorker, WireError } from "./pglite-protocol";

type Payload = ToWorker extends infer M ? (M extends { id: number } ? Omit<M, "id"> : never) : never;
type QueryConfig = { rowMode?: "array" | "object"; parsers?: Record<number, unknown> };
type TxClient = Pick<Transaction, "query">;
// Bun's Worker can stop holding the process open; the DOM typings do not say so.
type BunWorker = Worker & { ref(): void; unref(): void };

/**
 * In a compiled binary every module's import.meta.url is the binary's own root, where the build
 * (`bun build --compile src/index.ts src/db/pglite-worker.ts`, so rooted at src/) put the worker
 * at db/pglite-worker.js; under `bun run` and `bun test` it sits beside this file.
 */
function workerUrl(): string {
  const compiled = import.meta.url.includes("/$bunfs/");
  return new URL(compiled ? "./db/pglite-worker.ts" : "./pglite-worker.ts", import.meta.url).href;
}

// The first memory:// data dir, handed back by the first worker: later ones start from it.
let memoryTemplate: Blob | undefined;

const closedError = (why: string) => Object.assign(new Error(`embedded database unavailable: ${why}`), { code: "CONNECTION_CLOSED" });

function toError(w: WireError): Error {
  const { message, name, ...fields } = w;
  const e = Object.assign(new Error(message), fields);
  if (name) e.name = name;
  return e;
}

function wireOptions(o: QueryConfig | undefined): QueryOptions | undefined {
  if (!o) return undefined;
  return { rowMode: o.rowMode, raw: o.parsers ? Object.keys(o.parsers).map(Number) : undefined };
}

export class RemotePglite {
  private nextId = 1;
  private nextTx = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Map<string, Set<(payload: string) => void>>();
  private dead?: Error;
  private restarts = 0;
  private restartTimer?: ReturnType<typeof setTimeout>;
  private failed?: BunWorker;
  worker: BunWorker;
  closed = false;

  private constructor(
    private readonly dataDir: string,
    private readonly log: Logger,
  ) {
    this.worker = this.spawn();
  }

  private spawn(): BunWorker {
    const worker = new Worker(workerUrl()) as BunWorker;
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.receive(e.data);
    worker.onerror = (e: ErrorEvent) => this.fail(worker, closedError(`worker failed: ${e.message}`));
    worker.addEventListener("close", () => this.fail(worker, closedError("worker exited")));
    worker.unref();
    return worker;
  }

  static async open(dataDir: string, log: Logger = createLogger("error")): Promise<RemotePglite> {
    const remote = new RemotePglite(dataDir, log);
    try {
      await remote.start();
    } catch (err) {
      remote.closed = true;
      remote.worker.terminate();
      throw err;
    }
    return remote;
  }

  private async start(): Promise<void> {
    const assets = await loadAssets();
    const made = await this.send({ t: "open", dataDir: this.dataDir, assets, memoryTemplate });
    if (made instanceof Blob) memoryTemplate ??= made;
    for (const channel of this.listeners.keys()) await this.send({ t: "listen", channel });
  }

  /**
   * A folder database outlives its worker: a new one reopens it (Postgres's crash recovery), with
   * growing pauses while that keeps failing, and requests are served again. A memory:// database
   * died with its worker, so that instance stays unavailable.
   */
  private scheduleRestart(): void {
    if (this.closed || this.dataDir.startsWith("memory://")) return;
    const delay = Math.min(30_000, 250 * 2 ** this.restarts++);
    this.restartTimer = setTimeout(async () => {
      if (this.closed) return;
      this.worker = this.spawn();
      try {
        await this.start();
        this.dead = undefined;
        this.restarts = 0;
        this.log.warn("embedded database worker restarted");
      } catch (err) {
        this.fail(this.worker, err instanceof Error ? err : closedError(String(err)));
      }
    }, delay);
    this.restartTimer.unref?.();
  }

  /** Statements (and transaction steps) sent and not yet answered. */
  get owed(): number {
    return this.pending.size;
  }

  private receive(m: FromWorker): void {
    if (m.t === "n") {
      for (const fn of this.listeners.get(m.channel) ?? []) fn(m.payload);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    // Idle, the worker must not keep the process alive; owing an answer, it must.
    if (this.pending.size === 0) this.worker.unref();
    if (m.ok) p.resolve(m.v);
    else p.reject(toError(m.e));
  }

  private fail(worker: BunWorker, err: Error): void {
    // Only the current worker's first failure counts (terminating it fires "close" as well).
    if (worker !== this.worker || worker === this.failed) return;
    this.failed = worker;
    const unavailable = (err as { code?: string }).code === "CONNECTION_CLOSED" ? err : closedError(errorSummary(err));
    const first = !this.dead;
    this.dead = unavailable;
    if (!this.closed && first) this.log.error("embedded database worker stopped", { error: errorSummary(err), owed: this.pending.size });
    for (const p of this.pending.values()) p.reject(unavailable);
    this.pending.clear();
    worker.terminate();
    this.scheduleRestart();
  }

  private call(m: Payload): Promise<any> {
    if (this.dead) return Promise.reject(this.dead);
    return this.send(m);
  }

  private send(m: Payload): Promise<any> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...m, id } as ToWorker);
    });
  }

  query<T>(sql: string, params: unknown[] = [], opts?: QueryConfig, tx?: number): Promise<Results<T>> {
    return this.call({ t: "q", sql, params, opts: wireOptions(opts), tx });
  }

  /** Holds the worker's one connection until `fn` settles; an error (or rejection) rolls back. */
  async transaction<T>(fn: (tx: TxClient) => Promise<T>): Promise<T> {
    if (this.dead) throw this.dead;
    const tx = this.nextTx++;
    this.worker.postMessage({ t: "begin", id: 0, tx } satisfies ToWorker);
    const client = { query: (sql: string, params?: unknown[], opts?: QueryConfig) => this.query(sql, params, opts, tx) } as TxClient;
    let result: T;
    try {
      result = await fn(client);
    } catch (err) {
      await this.call({ t: "end", tx, commit: false }).catch(() => undefined);
      throw err;
    }
    await this.call({ t: "end", tx, commit: true });
    return result;
  }

  async listen(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>> {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await this.call({ t: "listen", channel }).catch((err) => {
        this.listeners.delete(channel);
        throw err;
      });
    }
    set.add(fn);
    return async () => {
      set.delete(fn);
      if (set.size === 0 && this.listeners.get(channel) === set) {
        this.listeners.delete(channel);
        if (!this.dead) await this.call({ t: "unlisten", channel });
      }
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    if (!this.dead) await this.call({ t: "close" }).catch(() => undefined);
    this.dead ??= closedError("closed");
    this.worker.terminate();
  }
}
