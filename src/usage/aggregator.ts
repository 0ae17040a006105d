// The in-memory side of usage: counts added on the hot path, handed out in batches to be written.
// `add` is a clock read, two Map lookups and an increment; a row is allocated once per
// (hour, user, key, chatflow). Nothing here awaits or touches the database.
import { USAGE_COUNTERS, type UsageCounter, type UsageRecorder } from "../kernel/usage";

export const HOUR_MS = 3_600_000;

/**
 * Rows kept for a database that stays away: beyond this many, given-back rows are dropped (and
 * reported) rather than letting memory grow without bound.
 */
export const MAX_PENDING_ROWS = 200_000;

/** One (hour, user, key, chatflow) and its counts. */
export class UsageRow {
  requests = 0;
  predictions = 0;
  failedPredictions = 0;
  creditsSpent = 0;
  tokensAccess = 0;
  tokensRefresh = 0;
  tokensChat = 0;
  tokensStream = 0;
  tokensApi = 0;
  rateLimited = 0;
  logins = 0;
  failedLogins = 0;
  errors = 0;
  serverErrors = 0;

  constructor(
    readonly bucket: number,
    readonly userId: string,
    readonly keyId: string,
    readonly chatflowId: string,
  ) {}

  /** Adds another row's counts (same dimensions) into this one. */
  merge(other: UsageRow): void {
    for (const c of USAGE_COUNTERS) this[c] += other[c];
  }

  get empty(): boolean {
    return USAGE_COUNTERS.every((c) => this[c] === 0);
  }
}

const rowKey = (r: UsageRow) => `${r.bucket}\u0000${r.userId}\u0000${r.keyId}\u0000${r.chatflowId}`;

/** Merges rows with the same dimensions: one upsert must not touch a row twice. */
export function mergeRows(rows: Iterable<UsageRow>): UsageRow[] {
  const out = new Map<string, UsageRow>();
  for (const r of rows) {
    const k = rowKey(r);
    const have = out.get(k);
    if (have) have.merge(r);
    else {
      const copy = new UsageRow(r.bucket, r.userId, r.keyId, r.chatflowId);
      copy.merge(r);
      out.set(k, copy);
    }
  }
  return [...out.values()].filter((r) => !r.empty);
}

export class UsageAggregator implements UsageRecorder {
  /** Start and end (ms) of the hour `current` counts. */
  private hourStart = 0;
  private hourEnd = 0;
  /** userId → (keyId, or keyId NUL chatflowId) → row, for the current hour. */
  private current = new Map<string, Map<string, UsageRow>>();
  /** Rows of past hours and of failed writes, waiting for the next flush. */
  private pending: UsageRow[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  add(counter: UsageCounter, userId: string, keyId = "", chatflowId = "", n = 1): void {
    const now = this.now();
    if (now >= this.hourEnd || now < this.hourStart) this.rotate(now);
    let byUser = this.current.get(userId);
    if (!byUser) {
      byUser = new Map();
      this.current.set(userId, byUser);
    }
    // Requests (the hot path) carry no chatflow: their key is the key id itself, no string built.
    const dim = chatflowId === "" ? keyId : `${keyId}\u0000${chatflowId}`;
    let row = byUser.get(dim);
    if (!row) {
      row = new UsageRow(this.hourStart, userId, keyId, chatflowId);
      byUser.set(dim, row);
    }
    row[counter] += n;
  }

  /** The hour turned (or the clock went back): what was counted belongs to the hour it was counted in. */
  private rotate(now: number): void {
    this.drainCurrent();
    this.hourStart = now - (now % HOUR_MS);
    this.hourEnd = this.hourStart + HOUR_MS;
  }

  private drainCurrent(): void {
    if (this.current.size === 0) return;
    for (const byUser of this.current.values()) for (const row of byUser.values()) this.pending.push(row);
    this.current = new Map();
  }

  /** Everything counted so far, merged, and forgotten here: the caller writes it or gives it back. */
  take(): UsageRow[] {
    this.drainCurrent();
    const rows = mergeRows(this.pending);
    this.pending = [];
    return rows;
  }

  /** Rows a write could not store: counted again at the next flush. Answers how many did not fit. */
  giveBack(rows: UsageRow[]): number {
    const room = Math.max(0, MAX_PENDING_ROWS - this.pending.length);
    for (const r of rows.slice(0, room)) this.pending.push(r);
    return Math.max(0, rows.length - room);
  }

  /** Distinct rows waiting (a gauge, and the tests' view). */
  get size(): number {
    let n = this.pending.length;
    for (const byUser of this.current.values()) n += byUser.size;
    return n;
  }
}
