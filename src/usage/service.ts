// Usage rollups: the batched additive write, the retention prune, and the queries behind
// GET /api/admin/usage and GET /api/auth/usage.
import { sql, type SQL } from "drizzle-orm";
import { rowsOf, type DB } from "../db/client";
import { parseInstant, storableInstant } from "../http/instants";
import { errorSummary, type Logger } from "../http/logger";
import { USAGE_COUNTERS } from "../kernel/usage";
import { HOUR_MS, type UsageAggregator, type UsageRow } from "./aggregator";
import { USAGE_ERRORS } from "./errors";
import { DEFAULT_SPAN_MS, MAX_POINTS, MAX_SPAN_MS, type UsagePoint, type UsageQuery, type UsageSeries } from "./model";
import { usageRollups as t } from "./schema";

/** Rows per statement: at 18 parameters a row, well under Postgres's 65535 per statement. */
const ROWS_PER_STATEMENT = 1000;

const additive = Object.fromEntries(USAGE_COUNTERS.map((c) => [c, sql.raw(`"usage_rollups"."${t[c].name}" + excluded."${t[c].name}"`)])) as Record<
  (typeof USAGE_COUNTERS)[number],
  SQL
>;

/**
 * One additive upsert per batch: every instance adds what it counted to the same rows, so the
 * stored numbers are the sums over all instances whatever the order of their flushes.
 */
export async function writeRows(db: DB, rows: UsageRow[]): Promise<void> {
  await db
    .insert(t)
    .values(
      rows.map((r) => ({
        bucket: new Date(r.bucket),
        userId: r.userId,
        apiKeyId: r.keyId,
        chatflowId: r.chatflowId,
        ...Object.fromEntries(USAGE_COUNTERS.map((c) => [c, r[c]])),
      })),
    )
    .onConflictDoUpdate({ target: [t.bucket, t.userId, t.apiKeyId, t.chatflowId], set: additive });
}

/**
 * Flushes the aggregator: its rows are taken, written, and given back when the write failed (a
 * database away for a while loses nothing; the counts wait in memory). Flushes run one at a time.
 */
export class UsageFlusher {
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: DB,
    private readonly aggregator: UsageAggregator,
    private readonly log: Logger,
  ) {}

  flush(): Promise<void> {
    const next = this.running.then(() => this.flushOnce());
    // A failed flush must not make every later one fail.
    this.running = next.catch(() => {});
    return next;
  }

  private async flushOnce(): Promise<void> {
    const rows = this.aggregator.take();
    if (rows.length === 0) return;
    let written = 0;
    try {
      for (; written < rows.length; written += ROWS_PER_STATEMENT) await writeRows(this.db, rows.slice(written, written + ROWS_PER_STATEMENT));
    } catch (err) {
      // Chunks already written stay written; only the rest is counted again.
      const dropped = this.aggregator.giveBack(rows.slice(written));
      if (dropped > 0) this.log.error("usage rows dropped: the database refused them too long", { rows: dropped });
      throw err;
    }
  }

  /** A background flush: a failure is logged, its rows wait for the next one. */
  flushQuietly(): Promise<void> {
    return this.flush().catch((err) => this.log.warn("usage flush failed", { error: errorSummary(err) }));
  }
}

/** Deletes rollups older than the retention; any instance may run it (idempotent). */
export async function pruneUsage(db: DB, retentionDays: number, now = Date.now()): Promise<number> {
  const cutoff = new Date(now - retentionDays * 86_400_000);
  const rows = rowsOf<{ n: number }>(
    await db.execute(sql`with gone as (delete from usage_rollups where bucket < ${cutoff.toISOString()}::timestamptz returning 1) select count(*)::int as n from gone`),
  );
  return Number(rows[0]?.n ?? 0);
}

/** Whose usage a caller may see: everyone's (admin), a user's own, or one API key's own. */
export type UsageScope = { kind: "all" } | { kind: "user"; userId: string } | { kind: "key"; keyId: string };

export interface UsageRange {
  groupBy: "none" | "user" | "key" | "chatflow";
  granularity: "hour" | "day";
  since: Date;
  until: Date;
  id?: string;
}

/** The model's pattern checked the shape; this checks the calendar, the clock and the years a timestamp holds. */
function instantOf(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseInstant(value);
  if (ms === undefined) throw USAGE_ERRORS.BAD_INSTANT(name);
  if (!storableInstant(ms)) throw USAGE_ERRORS.INSTANT_OUT_OF_RANGE(name);
  return ms;
}

/**
 * The query's range: `until` defaults to now, `since` to one day (hour) or 30 days (day) before
 * it and is rounded down to its bucket's start; until must come after since, within the widest
 * span the granularity allows.
 */
export function rangeOf(q: UsageQuery, now = Date.now()): UsageRange {
  const groupBy = q.group_by ?? "none";
  const granularity = q.granularity ?? "hour";
  if (q.id !== undefined && groupBy === "none") throw USAGE_ERRORS.ID_NEEDS_GROUP();
  const width = granularity === "hour" ? HOUR_MS : 24 * HOUR_MS;
  const until = instantOf("until", q.until) ?? now;
  const rawSince = instantOf("since", q.since) ?? until - DEFAULT_SPAN_MS[granularity];
  if (until <= rawSince) throw USAGE_ERRORS.RANGE_ORDER();
  const since = rawSince - (((rawSince % width) + width) % width);
  // A default since (or one rounded down to its bucket) can leave the years a timestamp holds.
  if (!storableInstant(since)) throw USAGE_ERRORS.INSTANT_OUT_OF_RANGE("since");
  if (until - since > MAX_SPAN_MS[granularity] + width) throw USAGE_ERRORS.RANGE_TOO_WIDE(granularity, MAX_SPAN_MS[granularity] / 86_400_000);
  return { groupBy, granularity, since: new Date(since), until: new Date(until), id: q.id };
}

const DIMENSION = { none: null, user: t.userId, key: t.apiKeyId, chatflow: t.chatflowId } as const;

type Summed = Record<(typeof USAGE_COUNTERS)[number], number | string> & { b: number | string; id: string | null };

/** Sums per bucket (and per id when grouped), oldest bucket first, then by id. */
export async function queryUsage(db: DB, scope: UsageScope, r: UsageRange): Promise<UsageSeries> {
  const dim = DIMENSION[r.groupBy];
  const start = r.granularity === "hour" ? sql`${t.bucket}` : sql`date_trunc('day', ${t.bucket} at time zone 'UTC') at time zone 'UTC'`;
  // Epoch milliseconds: the drivers agree on numbers, not on how they render a timestamptz.
  const bucket = sql`(extract(epoch from ${start}) * 1000)::float8`;
  // Instants as ISO text: postgres.js takes no Date as an untyped parameter.
  const conds: SQL[] = [sql`${t.bucket} >= ${r.since.toISOString()}::timestamptz`, sql`${t.bucket} < ${r.until.toISOString()}::timestamptz`];
  if (scope.kind === "user") conds.push(sql`${t.userId} = ${scope.userId}`);
  if (scope.kind === "key") conds.push(sql`${t.apiKeyId} = ${scope.keyId}`);
  if (dim && r.id !== undefined) conds.push(sql`${dim} = ${r.id}`);
  const sums = sql.join(
    USAGE_COUNTERS.map((c) => sql`sum(${t[c]})::float8 as ${sql.identifier(c)}`),
    sql`, `,
  );
  const idCol = dim ? sql`nullif(${dim}, '')` : sql`null::text`;
  const rows = rowsOf<Summed>(
    await db.execute(sql`
      select ${bucket} as b, ${idCol} as id, ${sums}
      from ${t} where ${sql.join(conds, sql` and `)}
      group by 1, 2 order by 1, 2 nulls first
      limit ${MAX_POINTS + 1}`),
  );
  if (rows.length > MAX_POINTS) throw USAGE_ERRORS.TOO_MANY_POINTS(MAX_POINTS);
  return {
    group_by: r.groupBy,
    granularity: r.granularity,
    since: r.since.toISOString(),
    until: r.until.toISOString(),
    series: rows.map(toPoint),
  };
}

function toPoint(row: Summed): UsagePoint {
  const n = (c: (typeof USAGE_COUNTERS)[number]) => Number(row[c] ?? 0);
  const kinds = { access: n("tokensAccess"), refresh: n("tokensRefresh"), chat: n("tokensChat"), stream: n("tokensStream"), api: n("tokensApi") };
  return {
    bucket: new Date(Number(row.b)).toISOString(),
    id: row.id,
    requests: n("requests"),
    predictions: n("predictions"),
    failed_predictions: n("failedPredictions"),
    credits_spent: n("creditsSpent"),
    tokens_issued: kinds.access + kinds.refresh + kinds.chat + kinds.stream + kinds.api,
    tokens_by_kind: kinds,
    rate_limited: n("rateLimited"),
    logins: n("logins"),
    failed_logins: n("failedLogins"),
    errors: n("errors"),
    server_errors: n("serverErrors"),
  };
}
