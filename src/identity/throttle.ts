import { inArray, sql } from "drizzle-orm";
import type { Config } from "../config";
import { rowsOf, type DB } from "../db/client";
import { loginFailures } from "./schema";

/**
 * Failures are counted per (account, address) and per address, each up to LOGIN_MAX_FAILURES, and
 * per account up to the much higher LOGIN_ACCOUNT_MAX_FAILURES, which does not apply from an
 * address the account signed in from within KNOWN_ADDRESS_DAYS. So rotating addresses cannot lock
 * an owner out of their usual address, while the guesses one account can take stay bounded.
 */
export interface ThrottleKeys {
  account: string;
  address: string;
  pair: string;
  /** Present (window_start = last success) when the account signed in from this address. */
  knownAddress: string;
}

export const KNOWN_ADDRESS_DAYS = 30;

export function throttleKeys(account: string, address: string): ThrottleKeys {
  const acct = account.trim().toLowerCase();
  return { account: `acct:${acct}`, address: `ip:${address}`, pair: `pair:${acct}|${address}`, knownAddress: `good:${acct}|${address}` };
}

export interface Counter {
  key: string;
  max: number;
}

/** The counters one attempt is charged to. */
export async function countersFor(db: DB, keys: ThrottleKeys, limits: Pick<Config, "loginMaxFailures" | "loginAccountMaxFailures">): Promise<Counter[]> {
  const counters = [
    { key: keys.pair, max: limits.loginMaxFailures },
    { key: keys.address, max: limits.loginMaxFailures },
  ];
  const known = rowsOf(
    await db.execute(sql`select 1 from ${loginFailures} where key = ${keys.knownAddress}
      and window_start > now() - ${KNOWN_ADDRESS_DAYS}::int * interval '1 day'`),
  );
  if (known.length === 0) counters.push({ key: keys.account, max: limits.loginAccountMaxFailures });
  return counters;
}

/** After a success: this address is known for this account from now on. */
export async function rememberAddress(db: DB, keys: ThrottleKeys): Promise<void> {
  // No socket address to go by: vouching for "unknown" would exempt every such caller.
  if (keys.address === "ip:unknown") return;
  await db.execute(sql`
    insert into ${loginFailures} (key, window_start, count) values (${keys.knownAddress}, now(), 0)
    on conflict (key) do update set window_start = now()`);
}

// Moved to the core (the rate-limits gate needs it too); kept here for identity's importers.
export { clientAddress } from "../http/client-address";

const windowExpired = (windowSec: number) => sql`${loginFailures.windowStart} <= now() - ${windowSec}::int * interval '1 second'`;

/**
 * Counts this attempt against every counter, before the password is checked, in one upsert, and
 * returns the seconds to wait when any is now past its limit (0: go ahead). Counting first is
 * what makes the limit hold for concurrent guesses: a check followed by a later count let every
 * request already in flight through. An attempt that did not fail is given back (`refundAttempt`).
 * An expired window starts again at one.
 */
export async function takeAttempt(db: DB, counters: Counter[], windowSec: number): Promise<number> {
  const rows = rowsOf<{ key: string; count: number | string; remaining: number | string }>(
    await db.execute(sql`
      insert into ${loginFailures} (key, window_start, count)
      values ${sql.join(
        counters.map((c) => sql`(${c.key}, now(), 1)`),
        sql`, `,
      )}
      on conflict (key) do update set
        count = case when ${windowExpired(windowSec)} then 1 else ${loginFailures}.count + 1 end,
        window_start = case when ${windowExpired(windowSec)} then now() else ${loginFailures}.window_start end
      returning key, count,
        greatest(1, ceil(extract(epoch from (window_start + ${windowSec}::int * interval '1 second' - now())))::int) as remaining`),
  );
  const max = new Map(counters.map((c) => [c.key, c.max]));
  return rows.reduce((wait, r) => (Number(r.count) > max.get(r.key)! ? Math.max(wait, Number(r.remaining)) : wait), 0);
}

/** Gives back an attempt counted by `takeAttempt` that was not a failure (a success, a fault). */
export async function refundAttempt(db: DB, keys: string[], windowSec: number): Promise<void> {
  await db.execute(sql`
    update ${loginFailures} set count = greatest(${loginFailures.count} - 1, 0)
    where key in (${sql.join(
      keys.map((k) => sql`${k}`),
      sql`, `,
    )})
      and not ${windowExpired(windowSec)}`);
}

export async function clearFailures(db: DB, key: string): Promise<void> {
  await db.delete(loginFailures).where(inArray(loginFailures.key, [key]));
}
