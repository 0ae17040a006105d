import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { and, eq, isNull, sql } from "drizzle-orm";
import { calculateJwkThumbprint, importJWK, type JWK } from "jose";
import type { Config } from "../config";
import type { DB } from "../db/client";
import { errorSummary, type Logger } from "../http/logger";
import { isRetired, type AsymmetricAlg, type KeyRing, type RingPrivateKey, type RingPublicKey } from "../kernel/key-ring";
import type { RevocationBus } from "../kernel/revocations";
import type { KeySealer } from "../kernel/signing-keys";
import { CHAT_TOKEN_TTL_SEC } from "../keys/chat-token";
import { signingKeys, type SigningKeyRow } from "./schema";

/** One public key as the JWKS serves it (RFC 7517). */
export type PublicJwk = JWK & { kid: string; alg: AsymmetricAlg; use: "sig" };

export interface RotationResult {
  kid: string;
  alg: AsymmetricAlg;
  previous: { kid: string; not_after: string } | null;
}

// Serialises first-key creation and rotation across instances (the unique index is the backstop).
const LOCK = sql`select pg_advisory_xact_lock(hashtext('chatgate.signing_keys'))`;
// Slack for tokens an instance signed with the old key before it heard of the rotation.
const NOTICE_SEC = 60;

/**
 * The signing keys of this issuer, held in memory as the kernel signer's key ring. Every
 * instance reloads them when a rotation is announced on the revocation bus.
 */
export class SigningKeyStore implements KeyRing {
  private keys = new Map<string, RingPublicKey & { jwk: PublicJwk }>();
  private currentKey?: RingPrivateKey;
  private reloading: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: DB,
    private readonly sealer: KeySealer,
    private readonly config: Pick<Config, "issuer" | "jwtAlg" | "accessTokenTtlSec">,
    private readonly bus: RevocationBus,
    private readonly log: Logger,
  ) {
    bus.onEvent((e) => {
      if (e.kind === "signing_key") this.reload();
    });
  }

  get enabled(): boolean {
    return this.config.jwtAlg !== "HS256";
  }

  /**
   * How long a replaced key keeps verifying: the longest TTL of the kinds it signs that a
   * resource server checks (access tokens, 30-minute chat tokens), plus the notice slack.
   */
  get graceSec(): number {
    return Math.max(this.config.accessTokenTtlSec, CHAT_TOKEN_TTL_SEC) + NOTICE_SEC;
  }

  current(): RingPrivateKey | undefined {
    return this.currentKey;
  }

  get(kid: string): RingPublicKey | undefined {
    return this.keys.get(kid);
  }

  /** The keys a resource server may trust now: next, current and replaced-but-not-retired, newest first. */
  jwks(): PublicJwk[] {
    const now = Date.now();
    return [...this.keys.values()].filter((k) => !isRetired(k, now)).map((k) => k.jwk);
  }

  /** At start: the current key of JWT_ALG's algorithm, created by whichever instance gets there first. */
  async start(): Promise<void> {
    if (!this.enabled) return;
    await this.db.transaction(async (tx) => {
      await tx.execute(LOCK);
      const { current, next } = await this.heads(tx);
      // JWT_ALG changed: the old key is replaced as by a rotation.
      if (!current || current.alg !== this.config.jwtAlg || next?.alg !== this.config.jwtAlg) await this.replace(tx, current, next);
    });
    await this.queueLoad();
  }

  /** The next key becomes current; the previous one verifies until graceSec has passed. Every instance reloads. */
  async rotate(): Promise<RotationResult> {
    if (!this.enabled) throw new Error("JWT_ALG is HS256: there are no signing keys to rotate");
    const result = await this.db.transaction(async (tx) => {
      await tx.execute(LOCK);
      const { current, next } = await this.heads(tx);
      return this.replace(tx, current, next);
    });
    await this.queueLoad();
    this.log.info("signing key rotated", { kid: result.kid, previous_kid: result.previous?.kid ?? null });
    return result;
  }

  private async heads(tx: DB): Promise<{ current?: SigningKeyRow; next?: SigningKeyRow }> {
    const rows = await tx
      .select()
      .from(signingKeys)
      .where(and(eq(signingKeys.issuer, this.config.issuer), isNull(signingKeys.supersededAt)));
    return { current: rows.find((r) => r.activatedAt !== null), next: rows.find((r) => r.activatedAt === null) };
  }

  /** Retires `cur` after the grace period, activates `next` (or a fresh key) and publishes a new next key. */
  private async replace(tx: DB, cur: SigningKeyRow | undefined, next: SigningKeyRow | undefined): Promise<RotationResult> {
    const alg = this.config.jwtAlg as AsymmetricAlg;
    const now = new Date();
    const notAfter = new Date(now.getTime() + this.graceSec * 1000);
    let previous: RotationResult["previous"] = null;
    if (cur) {
      await tx.update(signingKeys).set({ supersededAt: now, notAfter }).where(eq(signingKeys.kid, cur.kid));
      previous = { kid: cur.kid, not_after: notAfter.toISOString() };
    }
    let kid: string;
    if (next && next.alg === alg) {
      await tx.update(signingKeys).set({ activatedAt: now }).where(eq(signingKeys.kid, next.kid));
      kid = next.kid;
    } else {
      // A next key of another algorithm (JWT_ALG changed) never signed anything: retired at once.
      if (next) await tx.update(signingKeys).set({ activatedAt: now, supersededAt: now, notAfter: now }).where(eq(signingKeys.kid, next.kid));
      kid = await this.insertKey(tx, alg, now);
    }
    await this.insertKey(tx, alg, null);
    // In the same transaction: other instances reload only once the new key is committed.
    await this.bus.publish([{ kind: "signing_key", subject: kid, expiresAt: notAfter }], tx);
    return { kid, alg, previous };
  }

  private async insertKey(tx: DB, alg: AsymmetricAlg, activatedAt: Date | null): Promise<string> {
    const pair = alg === "EdDSA" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" });
    const publicJwk = pair.publicKey.export({ format: "jwk" }) as Record<string, unknown>;
    // RFC 7638 thumbprint: the kid is derived from the key, so no two keys can share one.
    const kid = await calculateJwkThumbprint(publicJwk as JWK);
    const der = pair.privateKey.export({ format: "der", type: "pkcs8" });
    const privateKey = await this.sealer.seal(new Uint8Array(der), kid);
    await tx.insert(signingKeys).values({ kid, issuer: this.config.issuer, alg, publicJwk, privateKey, activatedAt });
    return kid;
  }

  /** Reads this issuer's keys; the current one's private key is opened with the master secret. */
  async load(): Promise<void> {
    const rows = await this.db.select().from(signingKeys).where(eq(signingKeys.issuer, this.config.issuer));
    rows.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    const keys = new Map<string, RingPublicKey & { jwk: PublicJwk }>();
    let current: RingPrivateKey | undefined;
    for (const r of rows) {
      const jwk: PublicJwk = { ...(r.publicJwk as JWK), kid: r.kid, alg: r.alg, use: "sig" };
      const key = (await importJWK(jwk, r.alg)) as CryptoKey;
      keys.set(r.kid, { kid: r.kid, alg: r.alg, key, jwk, notAfterMs: r.notAfter?.getTime() ?? null });
      if (r.activatedAt !== null && r.supersededAt === null) {
        const der = await this.sealer.open(r.privateKey, r.kid);
        current = { kid: r.kid, alg: r.alg, key: createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" }) };
      }
    }
    this.keys = keys;
    // A current key of another algorithm (JWT_ALG changed on another instance first) is kept
    // until this instance restarts with the same setting: it still signs valid tokens.
    if (current) this.currentKey = current;
  }

  /**
   * Loads one at a time, after every load queued before: the bus applies our own event before
   * its transaction commits, and that early (stale) read must not land after the one that follows.
   */
  private queueLoad(): Promise<void> {
    const next = this.reloading.then(() => this.load());
    this.reloading = next.catch(() => {});
    return next;
  }

  /** Reloads after a rotation elsewhere; failures are logged (the next event or restart retries). */
  private reload(): void {
    this.queueLoad().catch((err) => this.log.warn("signing key reload failed", { error: errorSummary(err) }));
  }

  /** Resolves once every reload started so far has finished (tests, the CLI). */
  settled(): Promise<void> {
    return this.reloading;
  }
}
