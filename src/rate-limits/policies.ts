import { and, eq, inArray, sql } from "drizzle-orm";
import type { Quota } from "../config";
import type { DB } from "../db/client";
import { rateLimitPolicies } from "./schema";

export type SubjectKind = "key" | "user";

/** Another instance's change is seen within this long (no notification for a quota edit). */
const CACHE_MS = 5_000;

/**
 * Explicit quotas of keys and users, cached briefly per subject so the hot path reads no row.
 * A change on this instance is seen at once; on the others after at most CACHE_MS.
 */
export class PolicyStore {
  private readonly cache = new Map<string, { at: number; quota: Promise<Quota | null>; value?: Quota | null }>();

  constructor(private readonly db: DB) {}

  /** The cached quota when fresh and read (no promise on the hot path), else undefined. */
  peek(kind: SubjectKind, id: string): Quota | null | undefined {
    const hit = this.cache.get(`${kind}:${id}`);
    return hit && Date.now() - hit.at < CACHE_MS ? hit.value : undefined;
  }

  get(kind: SubjectKind, id: string): Promise<Quota | null> {
    const k = `${kind}:${id}`;
    const now = Date.now();
    const hit = this.cache.get(k);
    if (hit && now - hit.at < CACHE_MS) return hit.quota;
    const quota = this.read(kind, id);
    const entry: { at: number; quota: Promise<Quota | null>; value?: Quota | null } = { at: now, quota };
    // A failed read is not remembered: the next request asks again.
    quota.then(
      (v) => (entry.value = v),
      () => this.cache.delete(k),
    );
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(k, entry);
    return quota;
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
    this.cache.delete(`${kind}:${id}`);
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
