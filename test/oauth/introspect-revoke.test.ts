// RFC 7662 introspection and RFC 7009 revocation: who may call them, both body encodings, the
// RFC 6749 error bodies, and `active` following expiry, revocation and the user's cut-off.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { createKey, seedBrain, type SeededKey } from "../keys/helpers";

let t: TestApp;
let admin: SeededUser;
let introspector: SeededKey;
beforeAll(async () => {
  t = await makeApp({ JWT_ALG: "EdDSA" });
  admin = await seedUser(t, { role: "admin" });
  introspector = await createKey(t, { level: "read", body: { scopes: ["introspect"] } });
}, 60_000);
afterAll(() => t.close());

const form = (o: Record<string, string>) => ({ body: new URLSearchParams(o).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } });
const introspect = async (token: string, as: string = introspector.key) => {
  const res = await t.request("POST", "/oauth/introspect", { token: as, body: { token } });
  expect(res.status).toBe(200);
  expect(res.headers.get("cache-control")).toBe("no-store");
  return json(res);
};
const revoke = (token: string, as?: string) => t.request("POST", "/oauth/revoke", { token: as, body: { token } });

describe("POST /oauth/introspect", () => {
  test("an introspect-scoped key and an admin's access token may call it; nobody else", async () => {
    const u = await seedUser(t);
    const plain = await createKey(t, { level: "admin", role: "admin" });
    expect((await introspect(u.accessToken)).active).toBe(true);
    expect((await introspect(u.accessToken, admin.accessToken)).active).toBe(true);
    for (const as of [undefined, u.accessToken, plain.key, "sk_live_nope"]) {
      const res = await t.request("POST", "/oauth/introspect", { token: as, body: { token: u.accessToken } });
      expect(res.status).toBe(401);
      expect(await json(res)).toEqual({ error: "invalid_client", error_description: expect.any(String) });
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
    }
  });

  test("scopes are an admin's choice on POST /api/auth/api-keys, and only known ones", async () => {
    const created = await json(
      await t.request("POST", "/api/auth/api-keys", { token: admin.accessToken, body: { name: "rs", user_id: admin.user.id, level: "read", scopes: ["introspect"] } }),
    );
    expect(created.scopes).toEqual(["introspect"]);
    const bad = await t.request("POST", "/api/auth/api-keys", { token: admin.accessToken, body: { name: "rs", user_id: admin.user.id, level: "read", scopes: ["root"] } });
    expect(bad.status).toBe(422);
  });

  test("form-urlencoded and JSON bodies; a missing token is invalid_request", async () => {
    const u = await seedUser(t);
    const viaForm = await t.request("POST", "/oauth/introspect", { token: introspector.key, ...form({ token: u.accessToken, token_type_hint: "access_token" }) });
    expect(viaForm.status).toBe(200);
    const body = await json(viaForm);
    expect(body).toMatchObject({ active: true, sub: u.user.id, token_type: "Bearer", token_use: "access", iss: "chatgate" });
    for (const k of ["exp", "iat", "jti", "sid"]) expect(body[k]).toBeDefined();
    for (const bad of [{}, { token: "" }, { token: 5 }]) {
      const res = await t.request("POST", "/oauth/introspect", { token: introspector.key, body: bad });
      expect(res.status).toBe(400);
      expect((await json(res)).error).toBe("invalid_request");
    }
    const malformed = await t.request("POST", "/oauth/introspect", { token: introspector.key, body: "{nope", headers: { "content-type": "application/json" } });
    expect(malformed.status).toBe(400);
    expect((await json(malformed)).error).toBe("invalid_request");
  });

  test("chat, refresh and API tokens", async () => {
    const k = await createKey(t);
    const brain = await seedBrain(t.ctx.db, { grant: [k.owner.user.id] });
    const { token: chat } = await json(await t.request("POST", `/api-key/chat-token?brain_id=${brain}`, { token: k.key }));
    expect(await introspect(chat)).toMatchObject({ active: true, token_use: "chat", brain_id: brain, api_key_id: k.id, sub: k.owner.user.id });
    const u = await seedUser(t);
    expect(await introspect(u.refreshToken)).toMatchObject({ active: true, token_use: "refresh", sub: u.user.id });
    const { token: api } = await json(await t.request("POST", "/api/admin/tokens", { token: admin.accessToken, body: { userId: u.user.id } }));
    expect(await introspect(api)).toMatchObject({ active: true, token_use: "api", sub: u.user.id });
  });

  test("exactly {active:false} for malformed, foreign, expired, spent and cut-off tokens", async () => {
    const u = await seedUser(t);
    const [h, p] = u.accessToken.split(".");
    const expired = await t.ctx.signer.sign("access", { sub: u.user.id, jti: "at_x", sid: "ses_x", role: "user" }, -10);
    // Rotated: the old refresh token is spent.
    const spent = u.refreshToken;
    expect((await t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token: spent } })).status).toBe(200);
    for (const token of ["garbage", `${h}.${p}.AAAA`, `${h}.${p}.`, expired, spent, introspector.key, "a".repeat(10_000)]) {
      expect(await introspect(token)).toEqual({ active: false });
    }
    const v = await seedUser(t);
    expect((await t.request("POST", "/api/v1/chat/revoke", { token: v.accessToken, body: { all_tokens: true } })).status).toBe(200);
    expect(await introspect(v.accessToken)).toEqual({ active: false });
    expect(await introspect(v.refreshToken)).toEqual({ active: false });
  });
});

describe("POST /oauth/revoke", () => {
  test("an access token: 200, then inactive and refused everywhere", async () => {
    const u = await seedUser(t);
    const res = await revoke(u.accessToken, introspector.key);
    expect(res.status).toBe(200);
    expect(await introspect(u.accessToken)).toEqual({ active: false });
    expect((await t.request("GET", "/api/auth/me", { token: u.accessToken })).status).toBe(401);
    // Only that access token: the session's refresh token still works.
    expect((await t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token: u.refreshToken } })).status).toBe(200);
  });

  test("a refresh token by its holder alone ends the session; other tokens need a client credential", async () => {
    const u = await seedUser(t);
    expect((await revoke(u.accessToken)).status).toBe(401);
    expect((await revoke(u.accessToken, u.accessToken)).status).toBe(401);
    expect((await t.request("POST", "/oauth/revoke", form({ token: u.refreshToken, token_type_hint: "refresh_token" }))).status).toBe(200);
    expect((await t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token: u.refreshToken } })).status).toBe(401);
    expect((await t.request("GET", "/api/auth/me", { token: u.accessToken })).status).toBe(401);
    // Spent now: its holder is no longer anyone.
    expect((await revoke(u.refreshToken)).status).toBe(401);
  });

  test("a chat token and an API token", async () => {
    const k = await createKey(t);
    const brain = await seedBrain(t.ctx.db, { grant: [k.owner.user.id] });
    const { token: chat } = await json(await t.request("POST", `/api-key/chat-token?brain_id=${brain}`, { token: k.key }));
    expect((await revoke(chat, admin.accessToken)).status).toBe(200);
    expect(await introspect(chat)).toEqual({ active: false });
    const onChat = await t.ctx.authn.authenticate(new Request("http://x/", { headers: { authorization: `Bearer ${chat}` } }), ["chat"]);
    expect(onChat.ok).toBe(false);
    const u = await seedUser(t);
    const { token: api } = await json(await t.request("POST", "/api/admin/tokens", { token: admin.accessToken, body: { userId: u.user.id } }));
    expect((await revoke(api, introspector.key)).status).toBe(200);
    expect(await introspect(api)).toEqual({ active: false });
  });

  test("200 whether or not the token was known", async () => {
    for (const token of ["garbage", "x.y.z", introspector.key]) {
      const res = await revoke(token, introspector.key);
      expect(res.status).toBe(200);
    }
    expect((await t.request("POST", "/oauth/revoke", { token: introspector.key, body: {} })).status).toBe(400);
  });
});

describe("metadata (RFC 8414)", () => {
  test("names the issuer and the endpoints that exist", async () => {
    const res = await t.request("GET", "/.well-known/oauth-authorization-server");
    const m = await json(res);
    expect(m).toEqual({
      issuer: "chatgate",
      jwks_uri: "http://localhost/.well-known/jwks.json",
      introspection_endpoint: "http://localhost/oauth/introspect",
      revocation_endpoint: "http://localhost/oauth/revoke",
      response_types_supported: [],
    });
    for (const url of [m.jwks_uri]) expect((await t.request("GET", new URL(url).pathname)).status).toBe(200);
  });
});
