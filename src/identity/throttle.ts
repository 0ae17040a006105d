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

const windowExpired = (windowSec: number) => sql`${loginFailures.windowStart} <= now() - ${windowSec}::int * interval '1 second'`;

/**
 * Counts this attempt against both counters, before the password is checked, in one upsert, and
 * returns the seconds to wait when either is now past the limit (0: go ahead). Counting first is
 * what makes the limit hold for concurrent guesses: a check followed by a later count let every
 * request already in flight through. An attempt that did not fail is given back (`refundAttempt`).
 * An expired window starts again at one.
 */
export async function takeAttempt(db: DB, keys: ThrottleKeys, maxFailures: number, windowSec: number): Promise<number> {
  const rows = rowsOf<{ wait: number | string }>(
    await db.execute(sql`
      insert into ${loginFailures} (key, window_start, count)
      values (${keys.account}, now(), 1), (${keys.address}, now(), 1)
      on conflict (key) do update set
        count = case when ${windowExpired(windowSec)} then 1 else ${loginFailures}.count + 1 end,
        window_start = case when ${windowExpired(windowSec)} then now() else ${loginFailures}.window_start end
      returning case when count > ${maxFailures}::int
        then greatest(1, ceil(extract(epoch from (window_start + ${windowSec}::int * interval '1 second' - now())))::int)
        else 0 end as wait`),
  );
  return rows.reduce((max, r) => Math.max(max, Number(r.wait)), 0);
}

/** Gives back an attempt counted by `takeAttempt` that was not a failure (a success, a fault). */
export async function refundAttempt(db: DB, keys: string[], windowSec: number): Promise<void> {
  await db.execute(sql`
    update ${loginFailures} set count = greatest(${loginFailures.count} - 1, 0)
    where key in (${sql.join(keys.map((k) => sql`${k}`), sql`, `)})
      and not ${windowExpired(windowSec)}`);
}

export async function clearFailures(db: DB, key: string): Promise<void> {
  await db.delete(loginFailures).where(inArray(loginFailures.key, [key]));
}
