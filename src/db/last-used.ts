import { sql } from "drizzle-orm";
import type { Worker } from "../kernel/core";
import { errorSummary, type Logger } from "../http/logger";
import type { DB } from "./client";
import type { AnyPgColumn, PgTable } from "drizzle-orm/pg-core";

/** Any table with an `id` and a `last_used_at` column (API keys, admin-issued API tokens). */
type UsageTable = PgTable & { id: AnyPgColumn; lastUsedAt: AnyPgColumn };

/**
 * `last_used_at` written in batches, not per request: uses are noted in memory and one UPDATE
 * per table writes them every few seconds (and on stop). A failed write keeps its uses for the
 * next flush unless a newer use replaced them meanwhile.
 */
export class LastUsedWriter {
  private readonly pending = new Map<string, Date>();

  constructor(
    private readonly db: DB,
    private readonly table: UsageTable,
  ) {}

  note(id: string, at = new Date()): void {
    this.pending.set(id, at);
  }

  forget(id: string): void {
    this.pending.delete(id);
  }

  async flush(): Promise<number> {
    if (this.pending.size === 0) return 0;
    const batch = [...this.pending.entries()];
    this.pending.clear();
    const values = sql.join(
      batch.map(([id, at]) => sql`(${id}, ${at.toISOString()}::timestamptz)`),
      sql`, `,
    );
    const t = this.table;
    try {
      await this.db.execute(sql`
        update ${t} set last_used_at = greatest(${t.lastUsedAt}, v.at)
        from (values ${values}) as v(id, at) where ${t.id} = v.id`);
    } catch (err) {
      for (const [id, at] of batch) if (!this.pending.has(id)) this.pending.set(id, at);
      throw err;
    }
    return batch.length;
  }

  /** Flushes every `intervalMs`, and once more on stop. */
  start(name: string, log: Logger, intervalMs = 5000): Worker {
    const flush = () => this.flush().catch((err) => log.warn(`${name} flush failed`, { error: errorSummary(err) }));
    const timer = setInterval(flush, intervalMs);
    timer.unref?.();
    return {
      name,
      stop: async () => {
        clearInterval(timer);
        await flush();
      },
    };
  }
}
