import { asc, gt, inArray, lt, sql } from "drizzle-orm";
import type { Database, DB } from "../db/client";
import { revocations } from "./schema";
import { errorSummary, type Logger } from "../http/logger";

/**
 * `user`, `chatflow` and `api_key_changed` (a roll) events only invalidate caches, `signing_key`
 * reloads the key ring (a rotation); the others refuse tokens (`chat_token`: one chat token by
 * jti, RFC 7009 revoke).
 */
export type RevocationKind = "access" | "session" | "user" | "api_key" | "api_token" | "chatflow" | "api_key_changed" | "chat_token" | "signing_key";

export interface RevocationEvent {
  kind: RevocationKind;
  subject: string;
  /** When no token this entry could refuse can still be valid. */
  expiresAt: Date;
}

type Listener = (e: RevocationEvent) => void;

// Longer than any transaction that writes revocations can stay open: a seq missing for longer
// was rolled back (or purged), not committed late.
const GAP_WINDOW_MS = 120_000;
// Rows per catch-up query: catch-up pages through any number of them.
const PAGE = 1000;
// A jump this large between two seqs is history (purged or rolled-back rows), not writers still
// open: only the seqs just below the newer row are watched.
const MAX_GAP = 1000;
// At most this many missing seqs are watched at once (oldest forgotten first).
const MAX_WATCHED = 20_000;

/**
 * Revocations live in memory on every instance so token checks need no database round trip.
 * Each one is written to the `revocations` table (in the caller's transaction when given) and
 * announced with NOTIFY; instances replay the table at start, on every (re)connect of their
 * LISTEN connection, and every few seconds as a backstop for a lost notification.
 */
export class RevocationBus {
  // Expiry by kind, then subject: a check looks up the token's own strings (cached claims, so
  // their hashes are too) instead of building a "kind:subject" key per request.
  private readonly revoked = new Map<RevocationKind, Map<string, number>>();
  private readonly listeners: Listener[] = [];
  /** Every seq up to here has been read (or is in `missing`). */
  private lastSeq = 0;
  private primed = false;
  /** Seqs above lastSeq already applied from a notification or a local publish. */
  private readonly ahead = new Set<number>();
  /** Seqs below lastSeq not seen yet (seq → when noticed): a transaction may still commit them. */
  private readonly missing = new Map<number, number>();
  private timer?: ReturnType<typeof setInterval>;
  private unlisten?: () => Promise<void>;

  constructor(
    private readonly database: Database,
    private readonly log: Logger,
    private readonly pollMs = 5000,
  ) {}

  get channel() {
    return `${this.database.channelPrefix}_revocations`;
  }

  async start(): Promise<void> {
    await this.catchUp();
    const replay = () => {
      this.catchUp().catch((err) => this.log.warn("revocation catch-up failed", { error: errorSummary(err) }));
    };
    this.unlisten = await this.database.listen(
      this.channel,
      (payload) => {
        try {
          const e = JSON.parse(payload) as { kind: RevocationKind; subject: string; exp: number; seq: number };
          if (!this.seen(e.seq)) this.apply({ kind: e.kind, subject: e.subject, expiresAt: new Date(e.exp) }, e.seq);
        } catch {
          this.log.warn("ignored malformed revocation notification");
        }
      },
      replay,
    );
    this.timer = setInterval(replay, this.pollMs);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.unlisten?.().catch(() => {});
  }

  onEvent(fn: Listener): void {
    this.listeners.push(fn);
  }

  isRevoked(kind: RevocationKind, subject: string): boolean {
    const exp = this.revoked.get(kind)?.get(subject);
    return exp !== undefined && exp > Date.now();
  }

  /** Records and announces; applies locally at once (a rolled-back caller only over-denies). */
  async publish(events: RevocationEvent[], tx?: DB): Promise<void> {
    if (events.length === 0) return;
    const db = tx ?? this.database.db;
    const rows = await db
      .insert(revocations)
      .values(events.map((e) => ({ kind: e.kind, subject: e.subject, expiresAt: e.expiresAt })))
      .returning({ seq: revocations.seq });
    for (const [i, e] of events.entries()) this.apply(e, rows[i]?.seq);
    for (const [i, e] of events.entries()) {
      const payload = JSON.stringify({ seq: rows[i]?.seq, kind: e.kind, subject: e.subject, exp: e.expiresAt.getTime() });
      await db.execute(sql`select pg_notify(${this.channel}, ${payload})`);
    }
  }

  /**
   * Reads every row above the highest seq read so far, a page at a time (complete at any volume).
   * Seqs are taken at insert, not at commit: a transaction that took a lower seq can commit after
   * a higher one was read. So the seqs skipped over are watched for GAP_WINDOW_MS and read again.
   */
  async catchUp(): Promise<void> {
    await this.readMissing();
    for (;;) {
      const rows = await this.database.db.select().from(revocations).where(gt(revocations.seq, this.lastSeq)).orderBy(asc(revocations.seq)).limit(PAGE);
      const now = Date.now();
      for (const r of rows) {
        // The very first read starts from whatever survived purging: nothing below it is owed.
        if (this.primed || this.lastSeq > 0) for (let s = Math.max(this.lastSeq + 1, r.seq - MAX_GAP); s < r.seq; s++) this.missing.set(s, now);
        if (!this.ahead.delete(r.seq) && r.expiresAt.getTime() > now) this.apply({ kind: r.kind, subject: r.subject, expiresAt: r.expiresAt });
        this.lastSeq = r.seq;
      }
      if (rows.length < PAGE) break;
    }
    for (const s of this.ahead) if (s <= this.lastSeq) this.ahead.delete(s);
    this.primed = true;
    this.prune();
  }

  private async readMissing(): Promise<void> {
    const seqs = [...this.missing.keys()];
    for (let i = 0; i < seqs.length; i += PAGE) {
      const rows = await this.database.db
        .select()
        .from(revocations)
        .where(inArray(revocations.seq, seqs.slice(i, i + PAGE)));
      for (const r of rows) {
        this.missing.delete(r.seq);
        if (r.expiresAt.getTime() > Date.now()) this.apply({ kind: r.kind, subject: r.subject, expiresAt: r.expiresAt });
      }
    }
  }

  /** Entries held in memory (revoked subjects, watched seqs): bounded by what has not expired. */
  get size(): { revoked: number; missing: number; ahead: number } {
    let revoked = 0;
    for (const byKind of this.revoked.values()) revoked += byKind.size;
    return { revoked, missing: this.missing.size, ahead: this.ahead.size };
  }

  /** Deletes entries nobody needs any more; any instance may do it. */
  async purgeExpired(): Promise<void> {
    await this.database.db.delete(revocations).where(lt(revocations.expiresAt, sql`now() - interval '1 hour'`));
  }

  private seen(seq: number): boolean {
    return seq <= this.lastSeq ? !this.missing.has(seq) : this.ahead.has(seq);
  }

  private apply(e: RevocationEvent, seq?: number): void {
    if (seq !== undefined) {
      if (seq > this.lastSeq) this.ahead.add(seq);
      else this.missing.delete(seq);
    }
    let byKind = this.revoked.get(e.kind);
    if (!byKind) this.revoked.set(e.kind, (byKind = new Map()));
    const prev = byKind.get(e.subject) ?? 0;
    byKind.set(e.subject, Math.max(prev, e.expiresAt.getTime()));
    for (const fn of this.listeners) fn(e);
  }

  private prune(): void {
    const now = Date.now();
    for (const byKind of this.revoked.values()) for (const [k, exp] of byKind) if (exp <= now) byKind.delete(k);
    for (const [seq, at] of this.missing) if (now - at > GAP_WINDOW_MS) this.missing.delete(seq);
    // Oldest first (insertion order): past the cap, the longest-watched seqs are given up.
    for (const seq of this.missing.keys()) {
      if (this.missing.size <= MAX_WATCHED) break;
      this.missing.delete(seq);
    }
  }
}
