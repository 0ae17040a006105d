// Shared attack cases for any protected route (Unkey's runCommonRouteTests, for tokens): each one
// must be refused with 401. Other suites call expectTokenAttacksRefused with their own route.
import { expect } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { SignJWT, decodeJwt, decodeProtectedHeader, exportJWK } from "jose";
import type { Credential } from "../../src/kernel/principal";
import { apiTokens } from "../../src/db/schema";
import { newId } from "../../src/ids";
import { peekKind } from "../../src/kernel/jwt";
import { deriveSigningKeys, type TokenKind } from "../../src/kernel/signing-keys";
import type { TestApp } from "../helpers";

export interface AttackRoute {
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface AttackOptions {
  /** Credentials the route accepts: tokens of those kinds are not "wrong kind" there. */
  accepts?: Credential[];
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
const CREDENTIAL_OF: Record<TokenKind, Credential | undefined> = { access: "access", refresh: undefined, api: "apiToken", chat: "chat" };

/** Builds every attack from one valid token; returns the names of the cases it ran. */
export async function tokenAttacks(t: TestApp, validToken: string, opts: AttackOptions = {}): Promise<Record<string, string | null>> {
  const header = decodeProtectedHeader(validToken);
  const claims = decodeJwt(validToken) as Record<string, unknown>;
  const kind = peekKind(validToken) ?? "access";
  const [h, p, s] = validToken.split(".") as [string, string, string];
  const secret = new TextEncoder().encode(t.config.jwtSecret!);
  const keys = await deriveSigningKeys(secret);
  const now = Math.floor(Date.now() / 1000);
  const sub = String(claims.sub);
  const rest = { ...claims };
  delete rest.iat;
  delete rest.exp;
  const sign = (key: Uint8Array, hdr: Record<string, unknown>, body: Record<string, unknown>) =>
    new SignJWT(body).setProtectedHeader({ alg: "HS256", ...hdr } as { alg: string }).sign(key);

  const attacks: Record<string, string | null> = {
    "no credentials": null,
    garbage: "not-a-jwt",
    "tampered payload": `${h}.${b64({ ...claims, sub: `${sub}x`, role: "admin" })}.${s}`,
    "flipped signature": `${h}.${p}.${s.slice(0, -2)}${s.endsWith("AA") ? "BB" : "AA"}`,
    "alg none": `${b64({ ...header, alg: "none" })}.${p}.`,
    "forged with another secret": await sign(new TextEncoder().encode("another-secret-another-secret-xx"), { typ: header.typ }, claims),
    "signed with the master secret": await sign(secret, { typ: header.typ }, claims),
    expired: await sign(keys[kind], { typ: header.typ }, { ...rest, iat: now - 7200, exp: now - 3600 }),
    "wrong issuer": await sign(keys[kind], { typ: header.typ }, { ...claims, iss: "someone-else" }),
    "wrong audience": await sign(keys[kind], { typ: header.typ }, { ...claims, aud: `${claims.iss}:other` }),
    "foreign header (jku)": await sign(keys[kind], { typ: header.typ, jku: "http://127.0.0.1:1/keys" }, claims),
  };
  // A token of another kind, correctly signed with that kind's key, for the same user.
  for (const other of ["access", "refresh", "api", "chat"] as TokenKind[]) {
    const cred = CREDENTIAL_OF[other];
    if (other === kind || (cred && opts.accepts?.includes(cred))) continue;
    const jti = newId(other === "api" ? "tok" : "jt");
    if (other === "api") {
      await t.ctx.db.insert(apiTokens).values({ id: jti, userId: sub, name: "attack", createdBy: sub });
    }
    const extra = { sid: claims.sid ?? newId("ses"), brain_id: "brain-1", kid: newId("key"), role: claims.role ?? "user" };
    attacks[`${other} token`] = await t.ctx.signer.sign(other, { sub, jti, ...extra }, 600);
    // This kind's typ on a token signed with the presented kind's key, and the reverse.
    attacks[`${kind} key, ${other} typ`] = await sign(keys[kind], { typ: `chatgate-${other}+jwt` }, { ...claims, ...extra });
    attacks[`${other} key, ${kind} typ`] = await sign(keys[other], { typ: header.typ }, claims);
  }
  if (typeof header.kid === "string") Object.assign(attacks, await asymmetricAttacks(t, validToken));
  return attacks;
}

/**
 * With JWT_ALG=EdDSA|ES256: algorithm confusion (HS256 keyed with the public key, as text and as
 * its JWK), keys the token brings along (jwk, jku, x5u), a kid nobody published, alg none with
 * the right kid, and the claim attacks signed with the real private key.
 */
async function asymmetricAttacks(t: TestApp, validToken: string): Promise<Record<string, string>> {
  const header = decodeProtectedHeader(validToken) as { alg: string; typ: string; kid: string };
  const claims = decodeJwt(validToken) as Record<string, unknown>;
  const [, p] = validToken.split(".") as [string, string];
  const ring = t.ctx.services.signingKeys.store;
  const current = ring.current()!;
  const publicJwk = ring.jwks().find((k) => k.kid === header.kid)!;
  const now = Math.floor(Date.now() / 1000);
  const hs = (secret: Uint8Array, hdr: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ ...hdr, alg: "HS256" } as { alg: string }).sign(secret);
  const real = (hdr: Record<string, unknown>, body: Record<string, unknown>) =>
    new SignJWT(body).setProtectedHeader({ alg: current.alg, typ: header.typ, kid: current.kid, ...hdr }).sign(current.key);
  const mine = header.alg === "EdDSA" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" });
  const myJwk = await exportJWK(mine.publicKey);
  const own = (hdr: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: header.alg, typ: header.typ, ...hdr }).sign(mine.privateKey);
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const asText = new TextEncoder().encode(JSON.stringify(publicJwk));
  const asPem = new TextEncoder().encode(String((await import("node:crypto")).createPublicKey({ key: publicJwk as any, format: "jwk" }).export({ format: "pem", type: "spki" })));
  const rest = { ...claims };
  delete rest.iat;
  delete rest.exp;
  return {
    "HS256 keyed with the public JWK, right kid": await hs(asText, { typ: header.typ, kid: header.kid }),
    "HS256 keyed with the public key PEM, right kid": await hs(asPem, { typ: header.typ, kid: header.kid }),
    "HS256 keyed with the public key PEM, no kid": await hs(asPem, { typ: header.typ }),
    "embedded jwk header": await own({ jwk: myJwk }),
    "embedded jwk header with the right kid": await own({ jwk: myJwk, kid: header.kid }),
    "jku header": await own({ jku: "http://127.0.0.1:1/jwks.json", kid: "attacker" }),
    "x5u header": await own({ x5u: "http://127.0.0.1:1/cert.pem", kid: header.kid }),
    "unknown kid": await own({ kid: "no-such-key" }),
    "alg none, right kid": `${b64({ alg: "none", typ: header.typ, kid: header.kid })}.${p}.`,
    "real key, jku header": await real({ jku: "http://127.0.0.1:1/jwks.json" }, claims),
    "real key, expired": await real({}, { ...rest, iat: now - 7200, exp: now - 3600 }),
    "real key, wrong issuer": await real({}, { ...claims, iss: "someone-else" }),
    "real key, wrong audience": await real({}, { ...claims, aud: `${claims.iss}:other` }),
    "real key, other algorithm named": await real({ alg: header.alg === "EdDSA" ? "ES256" : "EdDSA" }, claims).catch(
      () => `${b64({ ...header, alg: "RS256" })}.${p}.${validToken.split(".")[2]}`,
    ),
  };
}

/** Asserts the valid token works on the route, then that every attack gets 401. */
export async function expectTokenAttacksRefused(t: TestApp, route: AttackRoute, validToken: string, opts: AttackOptions = {}): Promise<void> {
  const send = (token: string | null) => t.request(route.method, route.path, { token: token ?? undefined, body: route.body, headers: route.headers });
  const ok = await send(validToken);
  expect(ok.status, `valid token on ${route.method} ${route.path}`).toBeLessThan(400);
  const attacks = await tokenAttacks(t, validToken, opts);
  for (const [name, token] of Object.entries(attacks)) {
    const res = await send(token);
    expect(res.status, `${name} on ${route.method} ${route.path}`).toBe(401);
  }
}
