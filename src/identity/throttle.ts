import { inArray, sql } from "drizzle-orm";
import type { Config } from "../config";
import { rowsOf, type DB } from "../db/client";
import { loginFailures } from "../db/schema";

export interface ThrottleKeys {
  account: string;
  address: string;
}

export function throttleKeys(account: string, address: string): ThrottleKeys {
  return { account: `acct:${account.trim().toLowerCase()}`, address: `ip:${address}` };
}

interface RequestIpSource {
  requestIP(request: Request): { address: string } | null;
}

/**
 * The socket peer. X-Forwarded-For is read only behind a proxy the operator vouches for
 * (TRUST_PROXY), and then its last entry: the one that proxy appended, not one a client wrote.
 */
export function clientAddress(config: Pick<Config, "trustProxy">, server: RequestIpSource | null | undefined, request: Request): string {
  if (config.trustProxy) {
    const forwarded = request.headers.get("x-forwarded-for");
    const last = forwarded?.split(",").map((s) => s.trim()).filter(Boolean).pop();
    if (last && last.length <= 64) return last;
  }
  try {
    return server?.requestIP(request)?.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Seconds until the caller may try again, or 0 when neither counter is past the limit. */
export async function throttledFor(db: DB, keys: ThrottleKeys, maxFailures: number, windowSec: number): Promise<number> {
  const rows = rowsOf<{ wait: number | string }>(
    await db.execute(sql`
      select ceil(extract(epoch from (window_start + ${windowSec}::int * interval '1 second' - now())))::int as wait
      from ${loginFailures}
      where key in (${keys.account}, ${keys.address})
        and count >= ${maxFailures}::int
        and window_start > now() - ${windowSec}::int * interval '1 second'`),
  );
  return rows.reduce((max, r) => Math.max(max, Number(r.wait)), 0);
}

/** One upsert for both counters; an expired window starts again at one. */
export async function recordFailure(db: DB, keys: ThrottleKeys, windowSec: number): Promise<void> {
  await db.execute(sql`
    insert into ${loginFailures} (key, window_start, count)
    values (${keys.account}, now(), 1), (${keys.address}, now(), 1)
    on conflict (key) do update set
      count = case when ${loginFailures}.window_start <= now() - ${windowSec}::int * interval '1 second'
                   then 1 else ${loginFailures}.count + 1 end,
      window_start = case when ${loginFailures}.window_start <= now() - ${windowSec}::int * interval '1 second'
                   then now() else ${loginFailures}.window_start end`);
}

export async function clearFailures(db: DB, key: string): Promise<void> {
  await db.delete(loginFailures).where(inArray(loginFailures.key, [key]));
}
