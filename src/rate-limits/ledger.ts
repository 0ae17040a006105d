// Quotas shared by every instance on one database, without a round trip per request: each
// instance leases slices of a window's quota from that window's row and spends them in memory.
// The row never grants more than the limit, so instances together admit at most the limit per
// window; the only excess is a leftover slice spent in the moment after another instance
// started the next window (this instance's estimate of the database clock is off by up to half
// a round trip). README "Rate limits" gives the bound.
import { sql } from "drizzle-orm";
import { rowsOf, type DB } from "../db/client";
import type { Quota } from "../config";

export type Outcome =
  | { ok: true; remaining: number; resetS: number }
  /** windowStartMs: the refused window's start (database clock), when this instance holds a lease of it. */
  | { ok: false; remaining: number; resetS: number; windowStartMs?: number };

/** This instance's part of one subject's current window. */
export class Lease {
  constructor(
    readonly windowStartMs: number,
    /** When the window ends on this instance's clock. */
    readonly endsAt: number,
    readonly limit: number,
    /** Units leased here and not yet spent. */
    public local: number,
    /** Units every instance together has leased in this window (as of the last lease). */
    readonly granted: number,
    /** The size of the last slice asked for; doubles while slices go fast. */
    readonly slice: number,
    readonly leasedAt: number,
  ) {}

  /** Units of the window not yet spent anywhere, as far as this instance knows. */
  get remaining(): number {
    return Math.max(0, this.limit - this.granted + this.local);
  }

  /** Whole seconds until the window ends (at least 1). */
  resetS(now: number): number {
    return Math.max(1, Math.ceil((this.endsAt - now) / 1000));
  }
}

interface LeaseRow {
  granted: number;
  last_grant: number;
  start_ms: string | number;
  window_s: number;
  now_ms: string | number;
}

/** Slices never exceed 5% of the limit, so N instances hold at most N slices unspent. */
const SLICE_SHARE = 20;
/** Rows of windows that ended this long ago are deleted by prune(). */
const KEEP_ENDED_MS = 10 * 60_000;

export class QuotaLedger {
  private readonly leases = new Map<string, Lease>();
  private readonly pending = new Map<string, Promise<void>>();

  constructor(private readonly db: DB) {}

  /**
   * Spends from this instance's lease without waiting and answers that lease (its remaining
   * units and reset are read from it, nothing is allocated), or undefined when that needs the database.
   */
  takeLocal(key: string, quota: Quota, cost: number, now: number): Lease | undefined {
    const lease = this.leases.get(key);
    if (!lease || now >= lease.endsAt || lease.limit !== quota.limit || lease.local < cost) return undefined;
    lease.local -= cost;
    return lease;
  }

  /** Spends `cost` units of the quota under `key`, or says how long until its window ends. */
  async take(key: string, quota: Quota, cost: number): Promise<Outcome> {
    // Each pass spends, refuses, or leases (which moves the row towards its limit): it ends.
    for (let attempt = 0; attempt < 64; attempt++) {
      const now = Date.now();
      let lease = this.leases.get(key);
      if (lease && (now >= lease.endsAt || lease.limit !== quota.limit)) {
        this.leases.delete(key);
        lease = undefined;
      }
      if (lease && lease.local >= cost) {
        lease.local -= cost;
        return { ok: true, remaining: lease.remaining, resetS: lease.resetS(now) };
      }
      // Every unit of this window is leased: refuse without asking the database again.
      if (lease && (lease.granted >= lease.limit || cost > lease.limit)) {
        return { ok: false, remaining: lease.remaining, resetS: lease.resetS(now), windowStartMs: lease.windowStartMs };
      }
      const inFlight = this.pending.get(key);
      if (inFlight) {
        await inFlight;
        continue;
      }
      const p = this.lease(key, quota, cost, lease).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
      await p;
    }
    // Only reached when other requests kept taking what each lease brought: count it as refused.
    const lease = this.leases.get(key);
    return { ok: false, remaining: 0, resetS: lease ? lease.resetS(Date.now()) : quota.windowS, windowStartMs: lease?.windowStartMs };
  }

  /** Gives back units a request took but did not use (another policy refused it). */
  refund(key: string, cost: number): void {
    const lease = this.leases.get(key);
    if (lease) lease.local += cost;
  }

  /** Returns every unspent unit to its window's row (at shutdown), so other instances may use it. */
  async returnUnspent(): Promise<void> {
    const now = Date.now();
    for (const [key, lease] of this.leases) {
      if (lease.local <= 0 || now >= lease.endsAt) continue;
      await this.db.execute(sql`update rate_limit_windows set granted = greatest(0, granted - ${lease.local}::int)
        where policy_key = ${key} and window_start_ms = ${lease.windowStartMs}::bigint`);
    }
    this.leases.clear();
  }

  /** Deletes rows of windows that ended a while ago, and forgets this instance's ended leases. */
  async prune(): Promise<void> {
    const now = Date.now();
    for (const [key, lease] of this.leases) if (now >= lease.endsAt) this.leases.delete(key);
    await this.db.execute(sql`delete from rate_limit_windows
      where window_start_ms + window_s::bigint * 1000 < (extract(epoch from now()) * 1000)::bigint - ${KEEP_ENDED_MS}::bigint`);
  }

  private sliceFor(quota: Quota, cost: number, lease: Lease | undefined, now: number): number {
    const cap = Math.max(cost, Math.ceil(quota.limit / SLICE_SHARE));
    // Start small (a quiet subject takes what it needs); double while each slice lasts < 1 s.
    let slice = lease ? (now - lease.leasedAt < 1000 ? lease.slice * 2 : lease.slice) : cost;
    // Near the end of the quota, leave some for the other instances.
    if (lease) slice = Math.min(slice, Math.ceil((lease.limit - lease.granted) / 2));
    return Math.min(quota.limit, Math.max(cost, Math.min(cap, slice)));
  }

  /**
   * One statement, on the database's clock: starts a new window when the row's has ended,
   * otherwise adds up to `slice` without passing the limit. Works through PgBouncer's
   * transaction mode (no session state).
   */
  private async lease(key: string, quota: Quota, cost: number, prior: Lease | undefined): Promise<void> {
    const sentAt = Date.now();
    const slice = this.sliceFor(quota, cost, prior, sentAt);
    const { limit, windowS } = quota;
    const nowMs = sql`(extract(epoch from now()) * 1000)::bigint`;
    const ended = sql`rate_limit_windows.window_start_ms + rate_limit_windows.window_s::bigint * 1000 <= ${nowMs}`;
    const added = sql`least(${limit}::int, rate_limit_windows.granted + ${slice}::int)`;
    const rows = rowsOf<LeaseRow>(
      await this.db.execute(sql`
        insert into rate_limit_windows (policy_key, window_start_ms, window_s, granted, last_grant)
        values (${key}, ${nowMs}, ${windowS}::int, ${slice}::int, ${slice}::int)
        on conflict (policy_key) do update set
          window_start_ms = case when ${ended} then ${nowMs} else rate_limit_windows.window_start_ms end,
          window_s = case when ${ended} then ${windowS}::int else rate_limit_windows.window_s end,
          granted = case when ${ended} then ${slice}::int else greatest(rate_limit_windows.granted, ${added}) end,
          last_grant = case when ${ended} then ${slice}::int else greatest(0, ${added} - rate_limit_windows.granted) end
        returning granted, last_grant, window_start_ms as start_ms, window_s, ${nowMs} as now_ms`),
    );
    const row = rows[0]!;
    const receivedAt = Date.now();
    // The database's clock minus ours, measured at the middle of the round trip.
    const offset = Number(row.now_ms) - (sentAt + receivedAt) / 2;
    const startMs = Number(row.start_ms);
    const current = this.leases.get(key);
    const sameWindow = current !== undefined && current.windowStartMs === startMs;
    const local = (sameWindow ? current.local : 0) + row.last_grant;
    this.leases.set(key, new Lease(startMs, startMs + row.window_s * 1000 - offset, limit, local, row.granted, slice, receivedAt));
  }
}
