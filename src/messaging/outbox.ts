import { and, eq, inArray, sql } from "drizzle-orm";
import type { Worker } from "../kernel/core";
import { rowsOf, type DB } from "../db/client";
import { contacts, messages } from "./schema";
import type { Logger } from "../http/logger";
import type { MessagingMetrics } from "./metrics";
import { describeError, type DeliveryResult, type OutboundMessage, type Transport } from "./transports/transport";

export interface OutboxOptions {
  db: DB;
  transport: Transport;
  log: Logger;
  metrics: MessagingMetrics;
  maxAttempts: number;
  retryBaseMs: number;
  pollMs: number;
  sendTimeoutMs: number;
  batchSize?: number;
}

const MAX_BACKOFF_MS = 60 * 60 * 1000;

/** Delay before attempt n+1 after attempt n failed: base, 2·base, 4·base, ... capped at an hour. */
export const backoffMs = (base: number, attempt: number) => Math.min(MAX_BACKOFF_MS, base * 2 ** Math.max(0, attempt - 1));

const seconds = (ms: number) => sql`make_interval(secs => ${ms / 1000})`;

/**
 * Drains the messages table. All state is in the rows, so any number of instances can run one
 * each, and a restart picks up where the last process stopped:
 * - a claim takes due rows `FOR UPDATE SKIP LOCKED`, bumps `attempts` and sets `locked_until`,
 *   so no two workers hold one message at a time, and a dead worker's claim lapses by itself;
 * - the bumped `attempts` is the claim's fencing token: the outcome is written only while the
 *   row is still queued at that attempt, so a worker whose lease lapsed cannot overwrite a
 *   newer attempt's result.
 */
export class Outbox implements Worker {
  readonly name = "messaging-outbox";
  private stopped = false;
  private woken = false;
  private wakeUp?: () => void;
  private loop?: Promise<void>;
  private readonly batchSize: number;
  private readonly leaseMs: number;

  constructor(private readonly o: OutboxOptions) {
    this.batchSize = o.batchSize ?? 25;
    // A batch is delivered in parallel, so one batch takes about one send timeout.
    this.leaseMs = 2 * o.sendTimeoutMs + 30_000;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Look for due messages now instead of at the next poll. */
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
        this.o.log.warn("outbox pass failed", { error: describeError(err) });
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

  /** Claims one batch and delivers it; returns how many messages it claimed. */
  async drainOnce(): Promise<number> {
    const claimedAt = Date.now();
    const batch = await this.claim();
    // allSettled: one failed write-back must not let stop() return while others are in flight.
    const results = await Promise.allSettled(batch.map((m) => this.deliverOne(m, claimedAt)));
    for (const r of results) {
      // The claim stays until its lease lapses; then another pass retries the message.
      if (r.status === "rejected") this.o.log.warn("outbox write-back failed", { error: describeError(r.reason) });
    }
    return batch.length;
  }

  /**
   * Writes a delivery's outcome, retrying while the database is briefly away (a restart, a lost
   * connection): given up, the message would wait out its lease and be delivered again. Retries
   * stop a few seconds before the lease lapses (another worker may then claim it) or on stop().
   */
  private async writeBack<T>(claimedAt: number, write: () => Promise<T>): Promise<T> {
    const deadline = claimedAt + this.leaseMs - 5_000;
    for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
      try {
        return await write();
      } catch (err) {
        if (this.stopped || Date.now() + wait >= deadline) throw err;
        this.o.log.warn("outbox write-back failed, retrying", { error: describeError(err), retry_in_ms: wait });
        await Bun.sleep(wait);
      }
    }
  }

  private async claim(): Promise<OutboundMessage[]> {
    const claimed = rowsOf<{ id: string; attempts: number }>(
      await this.o.db.execute(sql`
        update messages m
           set attempts = m.attempts + 1, locked_until = now() + ${seconds(this.leaseMs)}, updated_at = now()
          from (select id from messages
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
    const attemptOf = new Map(claimed.map((r) => [r.id, Number(r.attempts)]));
    const rows = await this.o.db
      .select({ m: messages, c: contacts })
      .from(messages)
      .innerJoin(contacts, eq(contacts.id, messages.recipientId))
      .where(inArray(messages.id, claimed.map((r) => r.id)));
    return rows.map(({ m, c }) => ({
      id: m.id,
      senderId: m.senderId,
      text: m.text,
      templateId: m.templateId,
      attempt: attemptOf.get(m.id)!,
      createdAt: m.createdAt,
      recipient: c,
    }));
  }

  private async deliverOne(m: OutboundMessage, claimedAt: number): Promise<void> {
    const signal = AbortSignal.timeout(this.o.sendTimeoutMs);
    let result: DeliveryResult;
    try {
      result = await Promise.race([
        this.o.transport.deliver(m, signal),
        new Promise<DeliveryResult>((resolve) => signal.addEventListener("abort", () => resolve({ ok: false, error: `${this.o.transport.name} timeout` }))),
      ]);
    } catch (err) {
      result = { ok: false, error: `${this.o.transport.name} ${describeError(err)}` };
    }
    const mine = and(eq(messages.id, m.id), eq(messages.status, "queued"), eq(messages.attempts, m.attempt));
    const { db, log, metrics } = this.o;
    if (result.ok) {
      const done = await this.writeBack(claimedAt, () =>
        db
          .update(messages)
          .set({ status: "sent", sentAt: sql`now()`, lockedUntil: null, lastError: null, updatedAt: sql`now()` })
          .where(mine)
          .returning({ id: messages.id }),
      );
      if (done.length) metrics.sent.inc();
      log.info("message sent", { message_id: m.id, attempt: m.attempt, transport: this.o.transport.name });
      return;
    }
    if (m.attempt >= this.o.maxAttempts) {
      const done = await this.writeBack(claimedAt, () =>
        db
          .update(messages)
          .set({ status: "failed", lastError: result.error, lockedUntil: null, updatedAt: sql`now()` })
          .where(mine)
          .returning({ id: messages.id }),
      );
      if (done.length) metrics.failed.inc();
      log.warn("message failed", { message_id: m.id, attempt: m.attempt, error: result.error });
      return;
    }
    const delay = backoffMs(this.o.retryBaseMs, m.attempt);
    await db
      .update(messages)
      .set({ lastError: result.error, lockedUntil: null, nextAttemptAt: sql`now() + ${seconds(delay)}`, updatedAt: sql`now()` })
      .where(mine);
    log.info("message retry scheduled", { message_id: m.id, attempt: m.attempt, retry_in_ms: delay, error: result.error });
  }
}
