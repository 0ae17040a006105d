import { sql } from "drizzle-orm";
import type { Worker } from "../kernel/core";
import type { DB } from "../db/client";
import { auditEvents } from "../audit/schema";

export interface AuditRow {
  userId: string;
  customerId: number;
  ip: string | null;
  userAgent: string | null;
  createdAt: Date;
  requestId?: string | null;
}

interface Waiting {
  row: AuditRow;
  done: (err?: unknown) => void;
}

/**
 * One statement whose text is the same for any batch size: the rows as one JSON parameter
 * (arrays as parameters are not portable across both drivers). Building a multi-row VALUES list
 * through the query builder cost more CPU on the request thread than the rest of an issuance
 * (bench/README.md, Stream token profile). The same statement writes each issuance's row of the
 * audit log (`stream_token.issued`), so the audit log costs no extra round trip at any rate.
 */
function insertRows(rows: AuditRow[]) {
  const json = JSON.stringify(
    rows.map((r) => ({ user_id: r.userId, customer_id: r.customerId, ip: r.ip, user_agent: r.userAgent, created_at: r.createdAt, request_id: r.requestId ?? null })),
  );
  return sql`with r as (
      select * from json_to_recordset(${json}::json) as r(user_id text, customer_id int, ip text, user_agent text, created_at timestamptz, request_id text)
    ), s as (
      insert into stream_token_audit (user_id, customer_id, ip, user_agent, created_at)
      select user_id, customer_id, ip, user_agent, created_at from r
    )
    insert into ${auditEvents} (at, actor_type, actor_id, action, target_type, target_id, ip, request_id, changes)
    select created_at, 'user', user_id, 'stream_token.issued', 'customer', customer_id::text, ip, request_id, '{}'::jsonb from r`;
}

/**
 * Group commit for the issuance audit: a token is handed out only after its audit row is
 * committed, but concurrent issuances share one multi-row INSERT. While one INSERT is in
 * flight the next rows queue up and go together, so under load the number of round trips
 * falls far below the number of requests, and a crash can lose no issued token's record.
 */
export class AuditWriter implements Worker {
  readonly name = "stream-token-audit";
  private queue: Waiting[] = [];
  private running?: Promise<void>;

  constructor(
    private readonly db: DB,
    private readonly maxBatch = 500,
  ) {}

  record(row: AuditRow): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, done: (err) => (err ? reject(err) : resolve()) });
      if (!this.running) this.running = this.drain();
    });
  }

  // Always awaits before finishing (the queue is non-empty when started), and clears `running`
  // in the same tick as its last queue check, so no row can be left behind.
  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          await this.db.execute(insertRows(batch.map((w) => w.row)));
          for (const w of batch) w.done();
        } catch (err) {
          for (const w of batch) w.done(err);
        }
      }
    } finally {
      this.running = undefined;
    }
  }

  async stop(): Promise<void> {
    await this.running;
  }
}
