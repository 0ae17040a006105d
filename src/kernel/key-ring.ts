// The asymmetric signing keys the signer uses when JWT_ALG is EdDSA or ES256. The kernel only
// knows this interface; the signing-keys feature stores the keys and plugs a ring in.
import type { KeyObject } from "node:crypto";

export const JWT_ALGS = ["HS256", "EdDSA", "ES256"] as const;
export type JwtAlg = (typeof JWT_ALGS)[number];
export type AsymmetricAlg = Exclude<JwtAlg, "HS256">;

export interface RingPublicKey {
  kid: string;
  alg: AsymmetricAlg;
  /** Imported once, for this key's own algorithm only. */
  key: CryptoKey;
  /** Past this instant (ms) the key is retired: out of the JWKS, verifies no token a resource server sees. */
  notAfterMs: number | null;
}

export interface RingPrivateKey {
  kid: string;
  alg: AsymmetricAlg;
  key: KeyObject;
}

export interface KeyRing {
  /** The key new tokens are signed with. */
  current(): RingPrivateKey | undefined;
  /** Any key of this issuer by kid, retired ones included (the signer decides what they may verify). */
  get(kid: string): RingPublicKey | undefined;
}

export const isRetired = (k: RingPublicKey, now = Date.now()) => k.notAfterMs !== null && k.notAfterMs <= now;
