/**
 * Sliding-window limit per user, in this process's memory: no database round trip per
 * issuance. With N instances a user can get up to N × limit per minute; the audit table still
 * records every issuance.
 */
export class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs = 60_000,
  ) {}

  /** Records a hit and returns 0, or returns the seconds to wait without recording. */
  take(key: string, now = Date.now()): number {
    const since = now - this.windowMs;
    const list = (this.hits.get(key) ?? []).filter((t) => t > since);
    if (list.length >= this.limit) {
      this.hits.set(key, list);
      return Math.max(1, Math.ceil((list[0]! - since) / 1000));
    }
    list.push(now);
    this.hits.set(key, list);
    return 0;
  }

  /** Forgets users with no hit inside the window (called by the audit writer's timer). */
  prune(now = Date.now()): void {
    const since = now - this.windowMs;
    for (const [k, list] of this.hits) if (list[list.length - 1]! <= since) this.hits.delete(k);
  }
}
