import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeProtectedHeader } from "jose";
import { json, makeApp, seedUser, type TestApp } from "../helpers";
import { createKey, INVALID_KEY, seedBrain } from "./helpers";
import { BRAIN_ERRORS } from "../../src/brain/errors";

// Kept as literals because these tests pin the contract text (the contracts' own words):
// "Could not validate credentials".

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());

const mint = (brain: string | undefined, headers: Record<string, string>) =>
  t.request("POST", `/api-key/chat-token${brain === undefined ? "" : `?brain_id=${brain}`}`, { headers });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const asChat = (token: string) => t.ctx.authn.authenticate(new Request("http://localhost/chat/x/question/stream", { headers: bearer(token) }), ["chat"]);

describe("POST /api-key/chat-token", () => {
  test("a granted user's write key gets a 30-minute chat token with the documented claims", async () => {
    const k = await createKey(t);
    const brain = await seedBrain(t.ctx.db, { grant: [k.owner.user.id] });
    for (const headers of [bearer(k.key), { "x-api-key": k.key }]) {
      const res = await mint(brain, headers);
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(Object.keys(body).sort()).toEqual(["expires_in", "token"]);
      expect(body.expires_in).toBe(1800);
      expect(decodeProtectedHeader(body.token).typ).toBe("chatgate-chat+jwt");
      const v = await t.ctx.signer.verify("chat", body.token, ["sub", "jti", "brain_id", "kid"]);
      if (!v.valid) throw new Error(v.code);
      expect(v.claims).toMatchObject({ sub: k.owner.user.id, email: k.owner.user.email, brain_id: brain, kid: k.id });
      expect(v.claims.jti).toMatch(/^ct_/);
      expect(v.claims.exp! - v.claims.iat!).toBe(1800);
      const auth = await asChat(body.token);
      expect(auth.ok && auth.principal.brainId).toBe(brain);
    }
  });

  test("an admin's key reaches any brain; every token has its own jti", async () => {
    const k = await createKey(t, { role: "admin" });
    const brain = await seedBrain(t.ctx.db);
    const a = await json(await mint(brain, bearer(k.key)));
    const b = await json(await mint(brain, bearer(k.key)));
    const ja = await t.ctx.signer.verify("chat", a.token, ["jti"]);
    const jb = await t.ctx.signer.verify("chat", b.token, ["jti"]);
    expect(ja.valid && jb.valid && ja.claims.jti !== jb.claims.jti).toBe(true);
  });

  test("no access → 403, disabled brain → 403, unknown brain → 404", async () => {
    const k = await createKey(t);
    const notMine = await seedBrain(t.ctx.db);
    const denied = await mint(notMine, bearer(k.key));
    expect(denied.status).toBe(403);
    expect(await json(denied)).toEqual({ detail: BRAIN_ERRORS.NO_BRAIN_ACCESS.message });
    const disabled = await seedBrain(t.ctx.db, { grant: [k.owner.user.id], enabled: false });
    expect((await mint(disabled, bearer(k.key))).status).toBe(403);
    const unknown = await mint(crypto.randomUUID(), bearer(k.key));
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toEqual({ detail: BRAIN_ERRORS.BRAIN_NOT_FOUND.message });
  });

  test("missing or malformed brain_id → 422 {detail}", async () => {
    const k = await createKey(t);
    for (const brain of [undefined, "", "not-a-uuid", "550e8400-e29b-41d4-a716-44665544000", "'; drop table users;--"]) {
      const res = await mint(brain === undefined ? undefined : encodeURIComponent(brain), bearer(k.key));
      expect(res.status).toBe(422);
      const body = await json(res);
      expect(Object.keys(body)).toEqual(["detail"]);
      expect(body.detail).toContain("brain_id");
    }
  });

  test("anything but an API key → 401: none, access JWT, a chat token, a revoked key", async () => {
    const k = await createKey(t);
    const brain = await seedBrain(t.ctx.db, { grant: [k.owner.user.id] });
    const none = await mint(brain, {});
    expect(none.status).toBe(401);
    expect(await json(none)).toEqual(INVALID_KEY);
    const access = await mint(brain, bearer(k.owner.accessToken));
    expect(access.status).toBe(401);
    expect(await json(access)).toEqual({ detail: "Could not validate credentials" });
    const chat = (await json(await mint(brain, bearer(k.key)))).token;
    expect((await mint(brain, bearer(chat))).status).toBe(401);
    await t.request("DELETE", `/api-key/${k.id}`, { token: k.owner.accessToken });
    const revoked = await mint(brain, bearer(k.key));
    expect(revoked.status).toBe(401);
    expect(await json(revoked)).toEqual(INVALID_KEY);
  });

  test("a chat token is not an access token or an API key elsewhere", async () => {
    const k = await createKey(t);
    const brain = await seedBrain(t.ctx.db, { grant: [k.owner.user.id] });
    const { token } = await json(await mint(brain, bearer(k.key)));
    for (const [method, path] of [
      ["GET", "/api/auth/validate"],
      ["GET", "/api-keys"],
      ["POST", "/api-key"],
      ["GET", "/api/auth/api-keys"],
    ]) {
      const res = await t.request(method!, path!, { token, body: method === "POST" ? {} : undefined });
      expect({ path, status: res.status }).toEqual({ path, status: 401 });
    }
    expect((await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": token } })).status).toBe(401);
  });

  test("an expired chat token is refused; revoking the key kills its chat tokens", async () => {
    const k = await createKey(t);
    const brain = await seedBrain(t.ctx.db, { grant: [k.owner.user.id] });
    const claims = { sub: k.owner.user.id, email: k.owner.user.email, brain_id: brain, jti: "ct_expired", kid: k.id };
    const expired = await t.ctx.signer.sign("chat", claims, -60);
    const v = await t.ctx.signer.verify("chat", expired, ["sub", "jti", "brain_id", "kid"]);
    expect(v).toEqual({ valid: false, code: "EXPIRED" });
    expect((await asChat(expired)).ok).toBe(false);

    const { token } = await json(await mint(brain, bearer(k.key)));
    expect((await asChat(token)).ok).toBe(true);
    await t.request("DELETE", `/api-key/${k.id}`, { token: k.owner.accessToken });
    expect(await asChat(token)).toMatchObject({ ok: false, status: 401 });
  });

  test("revoking all of a user's tokens also ends the chat tokens minted before", async () => {
    const k = await createKey(t);
    const brain = await seedBrain(t.ctx.db, { grant: [k.owner.user.id] });
    const { token } = await json(await mint(brain, bearer(k.key)));
    expect((await asChat(token)).ok).toBe(true);
    // iat has one-second resolution: step past the second the token was minted in.
    await Bun.sleep(1100 - (Date.now() % 1000));
    const r = await t.request("POST", "/api/v1/chat/revoke", { token: k.owner.accessToken, body: { all_tokens: true } });
    expect(r.status).toBe(200);
    expect(await asChat(token)).toMatchObject({ ok: false, status: 401 });
  });

  test("a user without a key cannot get one via a session token; another user's key cannot reach my brain", async () => {
    const me = await seedUser(t);
    const brain = await seedBrain(t.ctx.db, { grant: [me.user.id] });
    const other = await createKey(t);
    expect((await mint(brain, bearer(other.key))).status).toBe(403);
  });
});
