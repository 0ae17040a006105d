// The usage rollups (GET /api/admin/usage) as the console reads them: a time range, its buckets
// (missing buckets are zero), one series per counter, and totals per user, key or chatflow.
import { api, qs } from "./api";
import type { UsagePoint, UsageSeries } from "../../usage/model";

export type Counter = "requests" | "predictions" | "failed_predictions" | "credits_spent" | "tokens_issued" | "rate_limited" | "logins" | "failed_logins" | "errors";

/** One bucket of one subject (the server's model; `import type` is erased from the bundle). */
export type UsageRow = UsagePoint;

export type Range = "24h" | "7d" | "30d";
export const RANGES: Record<Range, { label: string; count: number; granularity: "hour" | "day" }> = {
  "24h": { label: "last 24 hours", count: 24, granularity: "hour" },
  "7d": { label: "last 7 days", count: 7, granularity: "day" },
  "30d": { label: "last 30 days", count: 30, granularity: "day" },
};

const STEP = { hour: 3600_000, day: 86400_000 };

/** Bucket starts (UTC) of the range, oldest first, ending with the bucket that holds `now`. */
export function bucketsOf(range: Range, now = Date.now()): number[] {
  const { count, granularity } = RANGES[range];
  const step = STEP[granularity];
  const last = Math.floor(now / step) * step;
  return Array.from({ length: count }, (_, i) => last - (count - 1 - i) * step);
}

export async function loadUsage(groupBy: "none" | "user" | "key" | "chatflow", range: Range, id?: string): Promise<UsageRow[]> {
  const buckets = bucketsOf(range);
  const { granularity } = RANGES[range];
  const answer = await api<UsageSeries>("GET", `/api/admin/usage${qs({ group_by: groupBy, granularity, since: new Date(buckets[0]!).toISOString(), id })}`);
  return answer.series;
}

/** The counter per bucket; rows of several subjects in one bucket are added up. */
export function seriesOf(rows: UsageRow[], buckets: number[], c: Counter, granularity: "hour" | "day"): number[] {
  const step = STEP[granularity];
  const at = new Map(buckets.map((b, i) => [b, i]));
  const out = buckets.map(() => 0);
  for (const r of rows) {
    const i = at.get(Math.floor(Date.parse(r.bucket) / step) * step);
    if (i !== undefined) out[i]! += r[c];
  }
  return out;
}

/** Totals of each subject over all rows, largest first. */
export function totalsBy(rows: UsageRow[], c: Counter): Array<[string, number]> {
  const sums = new Map<string, number>();
  for (const r of rows) if (r.id) sums.set(r.id, (sums.get(r.id) ?? 0) + r[c]);
  return [...sums].sort((a, b) => b[1] - a[1]);
}
