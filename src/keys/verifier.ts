import { eq, or } from "drizzle-orm";
import type { Config } from "../config";
import type { Worker } from "../kernel/core";
import type { DB } from "../db/client";
import { apiKeys } from "./schema";
import type { KeyCheck, KeyLevel, KeyVerifier, MaybePromise } from "../kernel/principal";
import { LastUsedWriter } from "../db/last-used";
import type { Logger } from "../http/logger";
import type { RevocationBus } from "../kernel/revocations";
import { domainAllowed } from "./domains";
import { hashKey, parseKey } from "./key-format";

interface CachedKey {
  keyId: string;
  userId: string;
  level: KeyLevel;
  name: string;
  allowedDomains: string[];
  scopes: string[];
  expiresAtMs: number | null;
  revoked: boolean;
  /** Set when this hash is the key's previous secret (after a roll): refused from then on. */
  graceEndsMs: number | null;
}

interface Entry {
  key: CachedKey | null;
  at: number;
}

const refuse = (reason: "malformed" | "unknown" | "expired" | "revoked" | "rolled"): KeyCheck => ({ valid: false, code: "INVALID", reason });

/**
 * Steady state is one SHA-256 and one Map lookup per request. The cache is keyed by the key's
 * exact SHA-256 hex (no truncation, so no key can borrow another's entry). Revocation arrives
 * via the revocation bus (locally at once, other instances by NOTIFY), and so does a roll
 * (`api_key_changed`), which adds the previous secret's grace end; expiry and grace end are
 * checked on every hit; positive entries are re-read after `positiveTtlMs` as a backstop.
 */
export class ApiKeyVerifier implements KeyVerifier {
  private readonly cache = new Map<string, Entry>();
  // A key has up to two live hashes (its secret and, during a roll's grace, the previous one).
  private readonly hashById = new Map<string, Set<string>>();
  private readonly negatives = new Set<string>();
  private readonly lastUsed: LastUsedWriter;

  constructor(
    private readonly db: DB,
    private readonly config: Pick<Config, "acceptTestKeys">,
    private readonly bus: RevocationBus,
    private readonly opts = { positiveTtlMs: 5 * 60_000, negativeTtlMs: 10_000, maxEntries: 100_000, maxNegatives: 10_000 },
  ) {
    this.lastUsed = new LastUsedWriter(db, apiKeys);
    bus.onEvent((e) => {
      if (e.kind === "api_key" || e.kind === "api_key_changed") this.forget(e.subject);
    });
  }

  verify(raw: string, request: Request): MaybePromise<KeyCheck> {
    const env = parseKey(raw);
    if (!env) return refuse("malformed");
    if (env === "test" && !this.config.acceptTestKeys) return refuse("unknown");
    const hash = hashKey(raw);
    const key = this.cached(hash);
    return key === undefined ? this.lookup(hash).then((k) => this.check(k, request)) : this.check(key, request);
  }

  private check(key: CachedKey | null, request: Request): KeyCheck {
    const now = Date.now();
    if (!key) return refuse("unknown");
    if (key.revoked || this.bus.isRevoked("api_key", key.keyId)) return refuse("revoked");
    if (key.expiresAtMs !== null && key.expiresAtMs <= now) return refuse("expired");
    if (key.graceEndsMs !== null && key.graceEndsMs <= now) return refuse("rolled");
    if (!domainAllowed(request, key.allowedDomains)) return { valid: false, code: "FORBIDDEN_DOMAIN", reason: "domain" };
    this.lastUsed.note(key.keyId, new Date(now));
    return { valid: true, keyId: key.keyId, userId: key.userId, level: key.level, name: key.name, scopes: key.scopes };
  }

  /** Drops a key from this instance's cache (revocation, or any change to its row). */
  forget(keyId: string): void {
    for (const hash of this.hashById.get(keyId) ?? []) this.cache.delete(hash);
    this.hashById.delete(keyId);
    this.lastUsed.forget(keyId);
  }

  /** The cached entry while fresh (null: known unknown), else undefined (dropping a stale one). */
  private cached(hash: string): CachedKey | null | undefined {
    const hit = this.cache.get(hash);
    if (!hit) return undefined;
    const ttl = hit.key ? this.opts.positiveTtlMs : this.opts.negativeTtlMs;
    if (Date.now() - hit.at < ttl) return hit.key;
    this.cache.delete(hash);
    this.negatives.delete(hash);
    return undefined;
  }

  private async lookup(hash: string): Promise<CachedKey | null> {
    const now = Date.now();
    const [row] = await this.db
      .select()
      .from(apiKeys)
      .where(or(eq(apiKeys.keyHash, hash), eq(apiKeys.previousKeyHash, hash)));
    const key: CachedKey | null = row
      ? {
          keyId: row.id,
          userId: row.userId,
          level: row.level,
          name: row.name,
          allowedDomains: row.allowedDomains,
          scopes: row.scopes,
          expiresAtMs: row.expiresAt?.getTime() ?? null,
          revoked: row.revokedAt !== null,
          // A row whose previous hash has no end time would be a bug; refuse rather than accept forever.
          graceEndsMs: row.keyHash === hash ? null : (row.previousExpiresAt?.getTime() ?? 0),
        }
      : null;
    this.remember(hash, key, now);
    return key;
  }

  private remember(hash: string, key: CachedKey | null, at: number): void {
    if (key) {
      if (this.cache.size >= this.opts.maxEntries) this.clear();
      const hashes = this.hashById.get(key.keyId) ?? new Set<string>();
      hashes.add(hash);
      this.hashById.set(key.keyId, hashes);
    } else {
      // Unknown keys are cached briefly so a flood of one bad key costs one query, and in a
      // bounded set so a flood of distinct bad keys cannot grow memory.
      if (this.negatives.size >= this.opts.maxNegatives) {
        for (const h of this.negatives) this.cache.delete(h);
        this.negatives.clear();
      }
      this.negatives.add(hash);
    }
    this.cache.set(hash, { key, at });
  }

  private clear(): void {
    this.cache.clear();
    this.hashById.clear();
    this.negatives.clear();
  }

  /** Writes the last-use times gathered since the previous flush in one UPDATE. */
  flushLastUsed(): Promise<number> {
    return this.lastUsed.flush();
  }

  /** The batched last_used_at writer: every `intervalMs`, and once more on stop. */
  startLastUsedWriter(log: Logger, intervalMs = 5000): Worker {
    return this.lastUsed.start("api-key-last-used", log, intervalMs);
  }
}
