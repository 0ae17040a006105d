// The attack list: tokens built from a real admin access token that must never get in.
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import type { SigningKeys, TokenKind } from "../../src/kernel/signing-keys";
import { TEST_JWT_SECRET } from "../helpers";
import { b64url, decode, hmacSign, withSignature } from "./jwt-craft";

export interface Attack {
  name: string;
  token: string;
}

const ALG_NONE = ["none", "None", "NONE", "nOnE"];
const KID_INJECTIONS = [
  "../../dev/null",
  "../../../../../../dev/null",
  "/etc/passwd",
  "' OR 1=1--",
  '" OR ""="',
  "1; DROP TABLE users--",
  "key|/usr/bin/id",
  "$(id)",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal Log4Shell probe, not a template
  "${jndi:ldap://127.0.0.1/a}",
  "\u0000",
  "",
];
const WRONG_VALUES: [string, unknown][] = [
  ["null", null],
  ["true", true],
  ["false", false],
  ["0", 0],
  ["-1", -1],
  ["huge", Number.MAX_SAFE_INTEGER],
  ["1e308", 1e308],
  ["empty string", ""],
  ["NUL", "usr_\u0000"],
  ["array", []],
  ["object", {}],
  ["long string", "x".repeat(3000)],
];

/**
 * Claim values a server-signed token could carry and still be valid (a far expiry, an old
 * issue time): with a correct signature these may pass, so they are only checked for "no 5xx".
 */
export function plausible(claim: string, value: unknown): boolean {
  if (claim === "exp") return typeof value === "number" && value > Date.now() / 1000;
  if (claim === "iat") return typeof value === "number" && value <= Date.now() / 1000;
  if (claim === "nbf") return typeof value === "number" && value <= Date.now() / 1000;
  // iat_ms must be a whole number within the iat second (tokens without it predate it).
  if (claim === "iat_ms") return false;
  // The role claim is informational: the server decides by the user's stored role.
  if (claim === "role") return true;
  return false;
}

/** Attacks whose signature is wrong, absent or made with a key the server never trusts. */
export async function signatureAttacks(base: string, keys: SigningKeys, jwksUrl: string): Promise<Attack[]> {
  const { header, payload, signature } = decode(base);
  const kind = /chatgate-(\w+)\+jwt/.exec(String(header.typ))?.[1] as TokenKind;
  const out: Attack[] = [];
  const h = JSON.stringify;
  for (const alg of ALG_NONE) {
    const hd = { ...header, alg };
    out.push({ name: `alg ${alg}, no signature`, token: withSignature(hd, payload, "") });
    out.push({ name: `alg ${alg}, original signature`, token: withSignature(hd, payload, signature) });
    out.push({ name: `alg ${alg}, two segments`, token: `${b64url(h(hd))}.${b64url(h(payload))}` });
  }
  for (const alg of ["HS384", "HS512"] as const) {
    out.push({ name: `${alg} with the right key`, token: hmacSign(alg, keys[kind], h({ ...header, alg }), h(payload)) });
  }
  // Algorithm confusion: an asymmetric alg with an HMAC made from the server's key.
  for (const alg of ["RS256", "ES256", "PS256", "EdDSA"]) {
    const t = hmacSign("HS256", keys[kind], h({ ...header, alg }), h(payload));
    out.push({ name: `${alg} header, HMAC signature`, token: t });
  }
  const rsa = await generateKeyPair("RS256", { extractable: true });
  const ec = await generateKeyPair("ES256", { extractable: true });
  const rsaJwk = await exportJWK(rsa.publicKey);
  const ecJwk = await exportJWK(ec.publicKey);
  const sign = (alg: string, key: CryptoKey, extra: Record<string, unknown>) => new SignJWT(payload).setProtectedHeader({ ...header, alg, ...extra } as never).sign(key);
  out.push({ name: "RS256 with an attacker key", token: await sign("RS256", rsa.privateKey, {}) });
  out.push({ name: "ES256 with an attacker key", token: await sign("ES256", ec.privateKey, {}) });
  out.push({ name: "embedded jwk (RSA)", token: await sign("RS256", rsa.privateKey, { jwk: rsaJwk }) });
  out.push({ name: "embedded jwk (EC)", token: await sign("ES256", ec.privateKey, { jwk: ecJwk }) });
  const attackerSecret = "attacker-chosen-secret-attacker-chosen-secret";
  out.push({
    name: "embedded jwk (oct) with HS256",
    token: hmacSign("HS256", attackerSecret, h({ ...header, jwk: { kty: "oct", k: b64url(attackerSecret) } }), h(payload)),
  });
  out.push({ name: "jku to a loopback JWKS", token: await sign("RS256", rsa.privateKey, { jku: `${jwksUrl}/jwks.json`, kid: "a" }) });
  out.push({ name: "x5u to a loopback cert", token: await sign("RS256", rsa.privateKey, { x5u: `${jwksUrl}/cert.pem` }) });
  out.push({ name: "jku with HS256", token: hmacSign("HS256", keys[kind], h({ ...header, jku: `${jwksUrl}/jwks.json` }), h(payload)) });
  out.push({ name: "x5u with HS256", token: hmacSign("HS256", keys[kind], h({ ...header, x5u: `${jwksUrl}/cert.pem` }), h(payload)) });
  out.push({ name: "crit header", token: hmacSign("HS256", keys[kind], h({ ...header, crit: ["exp"] }), h(payload)) });
  for (const kid of KID_INJECTIONS) {
    out.push({ name: `kid ${JSON.stringify(kid)}, right key`, token: hmacSign("HS256", keys[kind], h({ ...header, kid }), h(payload)) });
    out.push({ name: `kid ${JSON.stringify(kid)}, empty key`, token: hmacSign("HS256", "", h({ ...header, kid }), h(payload)) });
  }
  out.push({ name: "HS256 with an empty key", token: hmacSign("HS256", "", h(header), h(payload)) });
  out.push({ name: "HS256 with JWT_SECRET itself (no HKDF)", token: hmacSign("HS256", TEST_JWT_SECRET, h(header), h(payload)) });
  for (const other of ["access", "refresh", "api", "chat"] as const) {
    if (other !== kind) out.push({ name: `signed with the ${other} key`, token: hmacSign("HS256", keys[other], h(header), h(payload)) });
  }
  const [hp, pp] = base.split(".");
  out.push({ name: "stripped signature", token: `${hp}.${pp}.` });
  out.push({ name: "altered signature (last char)", token: `${hp}.${pp}.${flip(signature, -1)}` });
  out.push({ name: "altered signature (first char)", token: `${hp}.${pp}.${flip(signature, 0)}` });
  out.push({ name: "truncated signature", token: `${hp}.${pp}.${signature.slice(0, 20)}` });
  out.push({ name: "signature of another payload", token: `${hp}.${b64url(h({ ...payload, sub: "usr_other" }))}.${signature}` });
  out.push({ name: "padded base64", token: `${hp}=.${pp}.${signature}` });
  out.push({ name: "four segments", token: `${base}.${signature}` });
  out.push({ name: "whitespace inside", token: `${hp}. ${pp}.${signature}` });
  for (const [label, value] of WRONG_VALUES) {
    for (const claim of ["sub", "exp", "iss", "aud"]) {
      out.push({ name: `${claim}=${label}, original signature`, token: withSignature(header, { ...payload, [claim]: value }, signature) });
    }
  }
  out.push({ name: "duplicate sub, original signature", token: `${hp}.${b64url(h(payload).replace(/^\{/, '{"sub":"usr_other",'))}.${signature}` });
  out.push({ name: "10 KB token", token: withSignature(header, { ...payload, pad: "x".repeat(10_000) }, signature) });
  out.push({ name: "10 KB token, right key", token: hmacSign("HS256", keys[kind], h(header), h({ ...payload, pad: "x".repeat(10_000) })) });
  return out;
}

/** Claims changed, then signed with the right key: only the claim checks stand in the way. */
export function claimAttacks(base: string, keys: SigningKeys): { attack: Attack; plausible: boolean }[] {
  const { header, payload } = decode(base);
  const kind = /chatgate-(\w+)\+jwt/.exec(String(header.typ))?.[1] as TokenKind;
  const h = JSON.stringify;
  const sign = (p: object, hd: object = header) => hmacSign("HS256", keys[kind], h(hd), h(p));
  const out: { attack: Attack; plausible: boolean }[] = [];
  const claims = [...new Set([...Object.keys(payload), "nbf"])];
  for (const claim of claims) {
    for (const [label, value] of WRONG_VALUES) {
      out.push({ attack: { name: `${claim}=${label}`, token: sign({ ...payload, [claim]: value }) }, plausible: plausible(claim, value) });
    }
    const { [claim]: _dropped, ...rest } = payload;
    out.push({ attack: { name: `${claim} missing`, token: sign(rest) }, plausible: claim === "nbf" || claim === "role" || claim === "iat_ms" });
  }
  out.push({ attack: { name: "nbf in the future", token: sign({ ...payload, nbf: Math.floor(Date.now() / 1000) + 3600 }) }, plausible: false });
  out.push({ attack: { name: "exp in the past", token: sign({ ...payload, exp: Math.floor(Date.now() / 1000) - 60 }) }, plausible: false });
  out.push({ attack: { name: "iat in the future", token: sign({ ...payload, iat: Math.floor(Date.now() / 1000) + 3600 }) }, plausible: false });
  out.push({ attack: { name: "aud as a list with a foreign audience", token: sign({ ...payload, aud: ["someone-else"] }) }, plausible: false });
  out.push({ attack: { name: "iss of another issuer", token: sign({ ...payload, iss: "evil" }) }, plausible: false });
  const text = h(payload);
  out.push({ attack: { name: "duplicate sub (raw JSON)", token: hmacSign("HS256", keys[kind], h(header), text.replace(/^\{/, '{"sub":"usr_other",')) }, plausible: false });
  out.push({ attack: { name: "duplicate exp (raw JSON)", token: hmacSign("HS256", keys[kind], h(header), text.replace(/\}$/, ',"exp":9999999999}')) }, plausible: false });
  out.push({ attack: { name: "duplicate typ in header", token: hmacSign("HS256", keys[kind], h(header).replace(/\}$/, ',"typ":"JWT"}'), text) }, plausible: false });
  out.push({ attack: { name: "duplicate alg in header", token: hmacSign("HS256", keys[kind], h(header).replace(/^\{/, '{"alg":"none",'), text) }, plausible: false });
  out.push({ attack: { name: "typ JWT", token: sign(payload, { ...header, typ: "JWT" }) }, plausible: false });
  out.push({ attack: { name: "typ missing", token: sign(payload, { alg: "HS256" }) }, plausible: false });
  return out;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Changes the character's top bit: the low bits of a last base64 character may be padding. */
function flip(s: string, at: number): string {
  const i = at < 0 ? s.length + at : at;
  const c = B64[B64.indexOf(s[i]!) ^ 0b100000]!;
  return s.slice(0, i) + c + s.slice(i + 1);
}
