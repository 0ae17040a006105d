// Shared attack cases for any protected route (Unkey's runCommonRouteTests, for tokens): each one
// must be refused with 401. Other suites call expectTokenAttacksRefused with their own route.
import { expect } from "bun:test";
import { SignJWT, decodeJwt, decodeProtectedHeader } from "jose";
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
  return attacks;
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
