import { and, asc, gt, lt, or, sql } from "drizzle-orm";
import type { Database, DB } from "../db/client";
import { revocations } from "../db/schema";
import { errorSummary, type Logger } from "../http/logger";

/** `user` and `chatflow` events only invalidate caches; the others refuse tokens. */
export type RevocationKind = "access" | "session" | "user" | "api_key" | "api_token" | "chatflow";

export interface RevocationEvent {
  kind: RevocationKind;
  subject: string;
  /** When no token this entry could refuse can still be valid. */
  expiresAt: Date;
}

type Listener = (e: RevocationEvent) => void;

// Longer than any transaction that writes revocations can stay open.
const REPLAY_WINDOW_SEC = 120;

/**
 * Revocations live in memory on every instance so token checks need no database round trip.
 * Each one is written to the `revocations` table (in the caller's transaction when given) and
 * announced with NOTIFY; instances replay the table at start, on every (re)connect of their
 * LISTEN connection, and every few seconds as a backstop for a lost notification.
 */
export class RevocationBus {
  private readonly revoked = new Map<string, number>();
  private readonly listeners: Listener[] = [];
  private lastSeq = 0;
  /** Seqs applied recently (seq → when), so the replay window applies each entry once. */
  private readonly appliedSeqs = new Map<number, number>();
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
          if (!this.appliedSeqs.has(e.seq)) this.apply({ kind: e.kind, subject: e.subject, expiresAt: new Date(e.exp) }, e.seq);
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
    const exp = this.revoked.get(`${kind}:${subject}`);
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
   * Sequence numbers are taken at insert, not at commit: a transaction that inserted a lower seq
   * can commit after a higher one was read. So besides everything above the highest seq seen,
   * the last few minutes are read again, skipping the seqs already applied.
   */
  async catchUp(): Promise<void> {
    const rows = await this.database.db
      .select()
      .from(revocations)
      .where(
        and(
          or(gt(revocations.seq, this.lastSeq), gt(revocations.createdAt, sql`now() - interval '${sql.raw(String(REPLAY_WINDOW_SEC))} seconds'`)),
          gt(revocations.expiresAt, sql`now()`),
        ),
      )
      .orderBy(asc(revocations.seq))
      .limit(10_000);
    for (const r of rows) {
      if (!this.appliedSeqs.has(r.seq)) this.apply({ kind: r.kind, subject: r.subject, expiresAt: r.expiresAt }, r.seq);
      this.lastSeq = Math.max(this.lastSeq, r.seq);
    }
    this.prune();
  }

  /** Deletes entries nobody needs any more; any instance may do it. */
  async purgeExpired(): Promise<void> {
    await this.database.db.delete(revocations).where(lt(revocations.expiresAt, sql`now() - interval '1 hour'`));
  }

  private apply(e: RevocationEvent, seq?: number): void {
    if (seq !== undefined) this.appliedSeqs.set(seq, Date.now());
    const key = `${e.kind}:${e.subject}`;
    const prev = this.revoked.get(key) ?? 0;
    this.revoked.set(key, Math.max(prev, e.expiresAt.getTime()));
    for (const fn of this.listeners) fn(e);
  }

  private prune(): void {
    const now = Date.now();
    for (const [k, exp] of this.revoked) if (exp <= now) this.revoked.delete(k);
    for (const [seq, at] of this.appliedSeqs) if (now - at > 2 * REPLAY_WINDOW_SEC * 1000) this.appliedSeqs.delete(seq);
  }
}
