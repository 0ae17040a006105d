import { sql, type SQL } from "drizzle-orm";
import { rowsOf, type DB } from "./client";
import { errorSummary, type Logger } from "../http/logger";

/**
 * The outbox machinery shared by every table of queued deliveries (messages, webhook_deliveries).
 * A table qualifies with the columns id, status ('queued'|'sent'|'failed'), attempts, last_error,
 * next_attempt_at, locked_until, updated_at and sent_at. All state is in the rows, so any number
 * of instances can run one worker each, and a restart picks up where the last process stopped:
 * - a claim takes due rows `FOR UPDATE SKIP LOCKED`, bumps `attempts` and sets `locked_until`,
 *   so no two workers hold one row at a time, and a dead worker's claim lapses by itself;
 * - the bumped `attempts` is the claim's fencing token: the outcome is written only while the
 *   row is still queued at that attempt, so a worker whose lease lapsed cannot overwrite a
 *   newer attempt's result.
 */

/** `final`: retrying cannot help (e.g. the target was disabled); the row fails at once. */
export type DeliveryResult = { ok: true; responseCode?: number } | { ok: false; error: string; responseCode?: number; final?: boolean };

export interface QueueOptions {
  db: DB;
  log: Logger;
  maxAttempts: number;
  retryBaseMs: number;
  pollMs: number;
  sendTimeoutMs: number;
  batchSize?: number;
}

/** What a table of deliveries plugs into the loop. */
export interface QueueKind<J extends { id: string; attempt: number }> {
  /** Worker name and the noun of its log lines ("message sent"). */
  worker: string;
  noun: string;
  /** A constant table name (never user input: it is spliced into SQL). */
  table: string;
  /** Log field naming a row's id (`message_id`). */
  idField: string;
  transportName: string;
  /** The claimed rows, with what delivering them needs; `attempt` comes from the claim. */
  load(claimed: Map<string, number>): Promise<J[]>;
  deliver(job: J, signal: AbortSignal): Promise<DeliveryResult>;
  /** Extra `col = value` assignments written with every outcome (e.g. the HTTP status). */
  outcomeColumns?(result: DeliveryResult): SQL | undefined;
  onSent?(): void;
  onFailed?(): void;
}

const MAX_BACKOFF_MS = 60 * 60 * 1000;

/** Delay before attempt n+1 after attempt n failed: base, 2·base, 4·base, ... capped at an hour. */
export const backoffMs = (base: number, attempt: number) => Math.min(MAX_BACKOFF_MS, base * 2 ** Math.max(0, attempt - 1));

const seconds = (ms: number) => sql`make_interval(secs => ${ms / 1000})`;

/** Error text that is safe to store and show: no URLs (they may carry credentials), bounded length. */
export function describeError(err: unknown): string {
  const e = err as { name?: string; message?: string };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return "timeout";
  return errorSummary(err);
}

export class LeasedQueue<J extends { id: string; attempt: number }> {
  readonly name: string;
  private stopped = false;
  private woken = false;
  private wakeUp?: () => void;
  private loop?: Promise<void>;
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private readonly table: SQL;

  constructor(
    private readonly o: QueueOptions,
    private readonly kind: QueueKind<J>,
  ) {
    this.name = kind.worker;
    this.batchSize = o.batchSize ?? 25;
    // A batch is delivered in parallel, so one batch takes about one send timeout.
    this.leaseMs = 2 * o.sendTimeoutMs + 30_000;
    this.table = sql.raw(`"${kind.table}"`);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Look for due rows now instead of at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let claimed = 0;
      try {
        claimed = await this.drainOnce();
      } catch (err) {
        this.o.log.warn(`${this.kind.worker} pass failed`, { error: describeError(err) });
      }
      if (claimed === 0 && !this.stopped) await this.idle();
    }
  }

  private idle(): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, this.o.pollMs);
      this.wakeUp = done;
    });
  }

  /** Claims one batch and delivers it; returns how many rows it claimed. */
  async drainOnce(): Promise<number> {
    const claimedAt = Date.now();
    const batch = await this.claim();
    // allSettled: one failed write-back must not let stop() return while others are in flight.
    const results = await Promise.allSettled(batch.map((m) => this.deliverOne(m, claimedAt)));
    for (const r of results) {
      // The claim stays until its lease lapses; then another pass retries the row.
      if (r.status === "rejected") this.o.log.warn(`${this.kind.worker} write-back failed`, { error: describeError(r.reason) });
    }
    return batch.length;
  }

  /**
   * Writes a delivery's outcome, retrying while the database is briefly away (a restart, a lost
   * connection): given up, the row would wait out its lease and be delivered again. Retries
   * stop a few seconds before the lease lapses (another worker may then claim it) or on stop().
   */
  private async writeBack<T>(claimedAt: number, write: () => Promise<T>): Promise<T> {
    const deadline = claimedAt + this.leaseMs - 5_000;
    for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
      try {
        return await write();
      } catch (err) {
        if (this.stopped || Date.now() + wait >= deadline) throw err;
        this.o.log.warn(`${this.kind.worker} write-back failed, retrying`, { error: describeError(err), retry_in_ms: wait });
        await Bun.sleep(wait);
      }
    }
  }

  private async claim(): Promise<J[]> {
    const t = this.table;
    const claimed = rowsOf<{ id: string; attempts: number }>(
      await this.o.db.execute(sql`
        update ${t} m
           set attempts = m.attempts + 1, locked_until = now() + ${seconds(this.leaseMs)}, updated_at = now()
          from (select id from ${t}
                 where status = 'queued' and next_attempt_at <= now()
                   and (locked_until is null or locked_until <= now())
                 order by next_attempt_at
                 limit ${this.batchSize}
                 for update skip locked) due
         where m.id = due.id
        returning m.id, m.attempts`),
    );
    if (claimed.length === 0) return [];
    // The attempt number is the fencing token, so it comes from the claim itself.
    return this.kind.load(new Map(claimed.map((r) => [r.id, Number(r.attempts)])));
  }

  /** Sets the outcome while the row is still this claim's (queued at this attempt). */
  private settle(job: J, set: SQL, result: DeliveryResult): Promise<unknown[]> {
    const extra = this.kind.outcomeColumns?.(result);
    return this.o.db
      .execute(sql`update ${this.table} set ${set}, locked_until = null, updated_at = now()${extra ? sql`, ${extra}` : sql``}
                    where id = ${job.id} and status = 'queued' and attempts = ${job.attempt} returning id`)
      .then((r) => rowsOf(r));
  }

  private async deliverOne(job: J, claimedAt: number): Promise<void> {
    const { kind } = this;
    const signal = AbortSignal.timeout(this.o.sendTimeoutMs);
    let result: DeliveryResult;
    try {
      result = await Promise.race([
        kind.deliver(job, signal),
        new Promise<DeliveryResult>((resolve) => signal.addEventListener("abort", () => resolve({ ok: false, error: `${kind.transportName} timeout` }))),
      ]);
    } catch (err) {
      result = { ok: false, error: `${kind.transportName} ${describeError(err)}` };
    }
    const { log } = this.o;
    const fields = { [kind.idField]: job.id, attempt: job.attempt };
    if (result.ok) {
      const done = await this.writeBack(claimedAt, () => this.settle(job, sql`status = 'sent', sent_at = now(), last_error = null`, result));
      if (done.length) kind.onSent?.();
      log.info(`${kind.noun} sent`, { ...fields, transport: kind.transportName });
      return;
    }
    if (job.attempt >= this.o.maxAttempts || result.final) {
      const done = await this.writeBack(claimedAt, () => this.settle(job, sql`status = 'failed', last_error = ${result.error}`, result));
      if (done.length) kind.onFailed?.();
      log.warn(`${kind.noun} failed`, { ...fields, error: result.error });
      return;
    }
    const delay = backoffMs(this.o.retryBaseMs, job.attempt);
    await this.settle(job, sql`last_error = ${result.error}, next_attempt_at = now() + ${seconds(delay)}`, result);
    log.info(`${kind.noun} retry scheduled`, { ...fields, retry_in_ms: delay, error: result.error });
  }
}
