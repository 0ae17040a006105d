// ratelimit.exceeded: once per policy and window — not per 429, and never in the 429's way.
// Each instance remembers in memory which (subject, window) it already tried to announce, so a
// refused request costs a Map lookup; the first refusal of a window on an instance claims the
// window's row (one UPDATE that only one instance can win) and queues the event in the same
// transaction. So N instances announce a window once between them, with at most one statement
// each per window (README "Rate limits").
import { sql } from "drizzle-orm";
import { rowsOf, type DB } from "../db/client";
import { errorSummary, type Logger } from "../http/logger";
import type { EventSink } from "../kernel/events";
import type { Policy } from "./headers";
import type { Outcome } from "./ledger";

/** Past this many subjects remembered, ended windows are forgotten at once (else at the feature's prune). */
const MAX_REMEMBERED = 10_000;

export class ExceededNotices {
  /** Per subject: the start of the window already announced (or being) and when it ends here. */
  private readonly noticed = new Map<string, { startMs: number; endsAt: number }>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly db: DB,
    private readonly events: EventSink,
    private readonly log: Logger,
  ) {}

  /** A request was refused by `policy`: announces its window unless this instance already did. */
  refused(policy: Policy, out: Extract<Outcome, { ok: false }>, userId: string | undefined): void {
    const startMs = out.windowStartMs;
    if (startMs === undefined) return; // No lease of the window here: nothing to name it by.
    const seen = this.noticed.get(policy.key);
    if (seen && seen.startMs === startMs) return;
    const now = Date.now();
    if (this.noticed.size >= MAX_REMEMBERED) {
      this.prune(now);
      // Still full (many subjects refused at once): forget them all; a window seen again costs
      // one statement that finds it already announced, never a second event.
      if (this.noticed.size >= MAX_REMEMBERED) this.noticed.clear();
    }
    this.noticed.set(policy.key, { startMs, endsAt: now + out.resetS * 1000 });
    const p = this.announce(policy, startMs, out.resetS, userId)
      .catch((err) => {
        this.log.warn("ratelimit.exceeded event not queued", { policy: policy.name, error: errorSummary(err) });
      })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Resolves once every announcement started so far has ended (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  /** Forgets windows that ended (called by the feature's prune timer too). */
  prune(now = Date.now()): void {
    for (const [k, v] of this.noticed) if (v.endsAt <= now) this.noticed.delete(k);
  }

  private announce(policy: Policy, startMs: number, retryAfterS: number, userId: string | undefined): Promise<void> {
    return this.db.transaction(async (tx) => {
      // Only one instance moves `announced_ms` to this window: that one queues the event.
      const won = rowsOf(
        await tx.execute(sql`update rate_limit_windows set announced_ms = window_start_ms
          where policy_key = ${policy.key} and window_start_ms = ${startMs}::bigint
            and announced_ms is distinct from window_start_ms
          returning 1 as won`),
      );
      if (won.length === 0) return;
      const subject = policy.key.slice(policy.name.length + 1);
      await this.events.emit(tx as unknown as DB, "ratelimit.exceeded", {
        policy: policy.name,
        subject,
        ...(userId && policy.name !== "address" ? { user_id: userId } : {}),
        limit: policy.quota.limit,
        window_s: policy.quota.windowS,
        window_started_at: new Date(startMs).toISOString(),
        retry_after_s: retryAfterS,
      });
    });
  }
}
