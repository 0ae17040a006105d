import { createHmac, createSecretKey, sign as signWith, type KeyObject } from "node:crypto";
import { errors, jwtVerify, type JWTPayload } from "jose";
import { isRetired, type JwtAlg, type KeyRing, type RingPrivateKey, type RingPublicKey } from "./key-ring";
import { TOKEN_KINDS, type SigningKeys, type TokenKind } from "./signing-keys";

export type Claims = JWTPayload & Record<string, unknown>;

export type VerifyResult = { valid: true; claims: Claims } | { valid: false; code: "MALFORMED" | "WRONG_KIND" | "EXPIRED" | "INVALID" };

const MAX_TOKEN_LENGTH = 4096;
const ALLOWED_HEADER = new Set(["alg", "typ", "kid"]);
const INVALID = { valid: false, code: "INVALID" } as const;

/**
 * Refresh tokens never leave chatgate, so they stay HS256 whatever JWT_ALG says; every other
 * kind is signed with the asymmetric key when one is configured.
 */
const signsAsymmetrically = (kind: TokenKind) => kind !== "refresh";

// Ids are short printable text; control characters (NUL) would only fail later, in the database.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CLAIM_STRING = /^[^\u0000-\u001f\u007f]{1,256}$/;

function isCanonical(segment: string): boolean {
  try {
    const text = Buffer.from(segment, "base64url").toString("utf8");
    return Buffer.from(JSON.stringify(JSON.parse(text))).toString("base64url") === segment;
  } catch {
    return false;
  }
}

const SUB_JTI: readonly string[] = ["sub", "jti"];

const hasRequired = (claims: JWTPayload, required: readonly string[]) => required.every((c) => typeof claims[c] === "string" && CLAIM_STRING.test(claims[c] as string));

/** `iat_ms` (the signing instant in ms, see sign) must agree with `iat` when present. */
const iatMsConsistent = (claims: JWTPayload) =>
  !("iat_ms" in claims) || (typeof claims.iat_ms === "number" && Number.isSafeInteger(claims.iat_ms) && Math.floor(claims.iat_ms / 1000) === claims.iat);

/**
 * When a verified token was signed, in milliseconds: `iat_ms`, or for tokens signed before it
 * existed the start of the `iat` second, which errs towards refusing.
 */
export function issuedAtMs(claims: Claims): number {
  return typeof claims.iat_ms === "number" ? claims.iat_ms : (claims.iat as number) * 1000;
}

export const typOf = (kind: TokenKind) => `chatgate-${kind}+jwt`;

/** Reads the `typ` header without trusting it: used only to pick which verifier to run. */
export function peekKind(token: string): TokenKind | undefined {
  const dot = token.indexOf(".");
  if (dot <= 0 || token.length > MAX_TOKEN_LENGTH) return undefined;
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, dot), "base64url").toString("utf8"));
    const m = typeof header?.typ === "string" ? /^chatgate-(access|refresh|api|chat)\+jwt$/.exec(header.typ) : null;
    return (m?.[1] as TokenKind | undefined) ?? undefined;
  } catch {
    return undefined;
  }
}

const b64json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

type VerifyKeys = Record<TokenKind, CryptoKey>;

/** jose re-imports a raw (Uint8Array) key on every call; a CryptoKey it uses as is. */
async function importVerifyKeys(keys: SigningKeys): Promise<VerifyKeys> {
  const out = {} as VerifyKeys;
  for (const kind of TOKEN_KINDS) {
    out[kind] = await crypto.subtle.importKey("raw", new Uint8Array(keys[kind]), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  }
  return out;
}

export class TokenSigner {
  // Verified tokens by their exact text: a hit skips the HMAC; expiry, the kind asked for and the
  // caller's required claims are still checked per use. Exact-match keys (not a fast hash) so no
  // crafted token can collide with a cached one.
  private readonly cache = new Map<string, { kind: TokenKind; claims: Claims; kid?: string }>();
  private readonly maxCache = 50_000;

  // Each key is imported once, here: signing HMACs with a node KeyObject (synchronous, no key
  // set-up per token), verifying goes through jose with CryptoKeys imported once.
  private readonly signKeys: Record<TokenKind, KeyObject>;
  private readonly verifyKeys: Promise<{ current: VerifyKeys; previous?: VerifyKeys }>;
  private ring?: KeyRing;

  constructor(
    keys: SigningKeys,
    private readonly issuer: string,
    /** Keys of the master secret before a rotation (JWT_SECRET_PREVIOUS): verify only. */
    previous?: SigningKeys,
    /** JWT_ALG: HS256 (the derived HMAC keys), or EdDSA/ES256 with the ring plugged in by plugKeys. */
    readonly algorithm: JwtAlg = "HS256",
  ) {
    this.signKeys = Object.fromEntries(TOKEN_KINDS.map((k) => [k, createSecretKey(keys[k])])) as Record<TokenKind, KeyObject>;
    this.verifyKeys = Promise.all([importVerifyKeys(keys), previous && importVerifyKeys(previous)]).then(([current, prev]) => ({ current, previous: prev }));
  }

  /** The signing-keys feature's keys (JWT_ALG=EdDSA|ES256); until plugged, those kinds cannot be signed. */
  plugKeys(ring: KeyRing): void {
    this.ring = ring;
  }

  /** The key a token names by `kid` may verify it: never a refresh token, retired only for API tokens. */
  private ringKey(kid: unknown, kind: TokenKind): RingPublicKey | undefined {
    if (typeof kid !== "string" || !signsAsymmetrically(kind)) return undefined;
    const key = this.ring?.get(kid);
    // API tokens are chatgate's own (each must still have its row) and may outlive any key's
    // grace period, so chatgate keeps verifying them; a retired key is out of the JWKS anyway.
    return key && (kind === "api" || !isRetired(key)) ? key : undefined;
  }

  /** The kind of a token: from the verified cache when known, else from its (untrusted) header. */
  kindOf(token: string): TokenKind | undefined {
    return this.cache.get(token)?.kind ?? peekKind(token);
  }

  audience(kind: TokenKind) {
    return `${this.issuer}:${kind}`;
  }

  async sign(kind: TokenKind, claims: Claims, ttlSec: number | null): Promise<string> {
    const nowMs = Date.now();
    const now = Math.floor(nowMs / 1000);
    // `iat` is whole seconds; revocation cut-offs are compared to the millisecond (issuedAtMs).
    // The same bytes jose's SignJWT wrote (claims, then iat_ms, iss, aud, iat, exp), which verify's
    // canonical-encoding check relies on.
    const payload: Claims = { ...claims, iat_ms: nowMs, iss: this.issuer, aud: this.audience(kind), iat: now };
    if (ttlSec !== null) payload.exp = now + ttlSec;
    if (this.algorithm !== "HS256" && signsAsymmetrically(kind)) return this.signAsymmetric(kind, payload);
    const input = `${b64json({ alg: "HS256", typ: typOf(kind) })}.${b64json(payload)}`;
    return `${input}.${createHmac("sha256", this.signKeys[kind]).update(input).digest("base64url")}`;
  }

  private signAsymmetric(kind: TokenKind, payload: Claims): string {
    const key: RingPrivateKey | undefined = this.ring?.current();
    if (!key) throw new Error(`JWT_ALG=${this.algorithm}: no signing key is loaded`);
    const input = `${b64json({ alg: key.alg, typ: typOf(kind), kid: key.kid })}.${b64json(payload)}`;
    const data = Buffer.from(input);
    // JWS wants ES256 signatures as r||s (IEEE P1363), not DER.
    const sig = key.alg === "EdDSA" ? signWith(null, data, key.key) : signWith("sha256", data, { key: key.key, dsaEncoding: "ieee-p1363" });
    return `${input}.${sig.toString("base64url")}`;
  }

  /** A token verified before is answered without a promise (see MaybePromise in ./principal). */
  verify(kind: TokenKind, token: string, required: readonly string[] = SUB_JTI): VerifyResult | Promise<VerifyResult> {
    const cached = this.cache.get(token);
    if (!cached || cached.kind !== kind) return this.verifyFresh(kind, token, required);
    const claims = cached.claims;
    // Its key may have been retired since (or the ring reloaded without it).
    if (cached.kid !== undefined && !this.ringKey(cached.kid, kind)) {
      this.cache.delete(token);
      return INVALID;
    }
    if (typeof claims.exp === "number" && claims.exp * 1000 <= Date.now()) {
      this.cache.delete(token);
      return { valid: false, code: "EXPIRED" };
    }
    if (!hasRequired(claims, required)) return { valid: false, code: "INVALID" };
    return { valid: true, claims };
  }

  private async verifyFresh(kind: TokenKind, token: string, required: readonly string[]): Promise<VerifyResult> {
    if (token.length > MAX_TOKEN_LENGTH || token.split(".").length !== 3) return { valid: false, code: "MALFORMED" };
    const peeked = peekKind(token);
    if (peeked !== kind) return { valid: false, code: peeked ? "WRONG_KIND" : "MALFORMED" };
    // SignJWT writes exactly base64url(JSON.stringify(...)): anything else (duplicate keys, which
    // parsers resolve differently, extra whitespace, odd base64) was not made here.
    const [h, p] = token.split(".") as [string, string];
    if (!isCanonical(h) || !isCanonical(p)) return { valid: false, code: "MALFORMED" };
    // A `kid` names one of the ring's keys, which verifies only with its own algorithm; without
    // one, only the HMAC keys with HS256 (tokens signed before JWT_ALG changed keep working).
    // Nothing else in the header (jwk, jku, x5u) is ever used to find a key.
    const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as Record<string, unknown>;
    const ringKey = "kid" in header ? this.ringKey(header.kid, kind) : undefined;
    if ("kid" in header && (!ringKey || header.alg !== ringKey.alg)) return INVALID;
    try {
      const options = {
        algorithms: [ringKey?.alg ?? "HS256"],
        issuer: this.issuer,
        audience: this.audience(kind),
        typ: typOf(kind),
        // Only admin API tokens may be issued without an expiry.
        requiredClaims: kind === "api" ? ["iat", ...required] : ["iat", "exp", ...required],
        // No clockTolerance: chatgate verifies only tokens it signed, so every kind expires
        // exactly at `exp`, as the cached path above does.
      };
      const keys = await this.verifyKeys;
      const { payload, protectedHeader } = ringKey
        ? await jwtVerify(token, ringKey.key, options)
        : await jwtVerify(token, keys.current[kind], options).catch((e) => {
            // Signed before a rotation: the previous secret's key, with every other check the same.
            if (keys.previous && e instanceof errors.JWSSignatureVerificationFailed) return jwtVerify(token, keys.previous[kind], options);
            throw e;
          });
      // Only alg, typ and kid are ever written; anything else (jwk, jku, x5u, crit) is foreign.
      if (Object.keys(protectedHeader).some((h) => !ALLOWED_HEADER.has(h))) return { valid: false, code: "INVALID" };
      if (!hasRequired(payload, required) || !iatMsConsistent(payload)) return { valid: false, code: "INVALID" };
      // A token issued "in the future" would outlive a later tokens-valid-after cut-off.
      if ((payload.iat as number) > Date.now() / 1000 + 5) return { valid: false, code: "INVALID" };
      if (this.cache.size >= this.maxCache) this.cache.clear();
      this.cache.set(token, { kind, claims: payload as Claims, kid: ringKey?.kid });
      return { valid: true, claims: payload as Claims };
    } catch (e) {
      if (e instanceof errors.JWTExpired) return { valid: false, code: "EXPIRED" };
      if (e instanceof errors.JOSEError || e instanceof TypeError || e instanceof SyntaxError) {
        return { valid: false, code: "INVALID" };
      }
      throw e;
    }
  }
}
