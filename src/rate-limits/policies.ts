import { and, eq, inArray, sql } from "drizzle-orm";
import type { Quota } from "../config";
import type { DB } from "../db/client";
import { policyOf, type Policy } from "./headers";
import { rateLimitPolicies } from "./schema";

export type SubjectKind = "key" | "user";

/** Another instance's change is seen within this long (no notification for a quota edit). */
const CACHE_MS = 5_000;

interface Entry {
  at: number;
  /** The subject's own quota, as read. */
  read: Promise<Quota | null>;
  /** Once read: the policy that applies (its own, else the kind's default), ready for the gate. */
  policy?: Policy | null;
}

/**
 * Explicit quotas of keys and users, cached briefly per subject so the hot path reads no row.
 * A change on this instance is seen at once; on the others after at most CACHE_MS.
 */
export class PolicyStore {
  // One map per kind, keyed by the bare id: the hot path builds no string to look one up.
  private readonly cache: Record<SubjectKind, Map<string, Entry>> = { key: new Map(), user: new Map() };

  /** `defaults`: the quota of a subject without one of its own (RATE_LIMIT_USER for users). */
  constructor(
    private readonly db: DB,
    private readonly defaults: Partial<Record<SubjectKind, Quota>> = {},
  ) {}

  /** The policy that applies when cached, fresh and read (no promise on the hot path), else undefined. */
  peek(kind: SubjectKind, id: string, now: number): Policy | null | undefined {
    const hit = this.cache[kind].get(id);
    return hit && now - hit.at < CACHE_MS ? hit.policy : undefined;
  }

  /** The policy that applies to a subject (its own quota, else the default), or null for none. */
  async policy(kind: SubjectKind, id: string): Promise<Policy | null> {
    const entry = this.load(kind, id);
    await entry.read;
    // The entry's own handler (registered first) has run by now.
    return entry.policy ?? null;
  }

  /** The subject's own quota (null: none of its own). */
  get(kind: SubjectKind, id: string): Promise<Quota | null> {
    return this.load(kind, id).read;
  }

  private load(kind: SubjectKind, id: string): Entry {
    const cache = this.cache[kind];
    const now = Date.now();
    const hit = cache.get(id);
    if (hit && now - hit.at < CACHE_MS) return hit;
    const entry: Entry = { at: now, read: this.read(kind, id) };
    // A failed read is not remembered: the next request asks again.
    entry.read.then(
      (own) => {
        const quota = own ?? this.defaults[kind];
        entry.policy = quota ? policyOf(kind, `${kind}:${id}`, quota) : null;
      },
      () => {
        if (cache.get(id) === entry) cache.delete(id);
      },
    );
    if (cache.size > 100_000) cache.clear();
    cache.set(id, entry);
    return entry;
  }

  /** Sets (or with null removes) a subject's own quota; `tx` lets a caller write it with its own row. */
  async set(kind: SubjectKind, id: string, quota: Quota | null, tx: DB = this.db): Promise<void> {
    if (quota === null) {
      await tx.delete(rateLimitPolicies).where(and(eq(rateLimitPolicies.subjectKind, kind), eq(rateLimitPolicies.subjectId, id)));
    } else {
      await tx
        .insert(rateLimitPolicies)
        .values({ subjectKind: kind, subjectId: id, limit: quota.limit, windowS: quota.windowS })
        .onConflictDoUpdate({
          target: [rateLimitPolicies.subjectKind, rateLimitPolicies.subjectId],
          set: { limit: sql`excluded.limit`, windowS: sql`excluded.window_s` },
        });
    }
    this.cache[kind].delete(id);
  }

  /** Several subjects' own quotas at once (lists in the console). */
  async many(kind: SubjectKind, ids: string[]): Promise<Map<string, Quota>> {
    const out = new Map<string, Quota>();
    if (ids.length === 0) return out;
    const rows = await this.db
      .select()
      .from(rateLimitPolicies)
      .where(and(eq(rateLimitPolicies.subjectKind, kind), inArray(rateLimitPolicies.subjectId, ids)));
    for (const r of rows) out.set(r.subjectId, { limit: r.limit, windowS: r.windowS });
    return out;
  }

  private async read(kind: SubjectKind, id: string): Promise<Quota | null> {
    const [row] = await this.db
      .select({ limit: rateLimitPolicies.limit, windowS: rateLimitPolicies.windowS })
      .from(rateLimitPolicies)
      .where(and(eq(rateLimitPolicies.subjectKind, kind), eq(rateLimitPolicies.subjectId, id)));
    return row ?? null;
  }
}

export const toQuota = (body: { limit: number; window_s: number } | null): Quota | null => (body === null ? null : { limit: body.limit, windowS: body.window_s });

export const toBody = (q: Quota | null | undefined) => (q ? { limit: q.limit, window_s: q.windowS } : null);
