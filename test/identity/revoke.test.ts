import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { users } from "../../src/db/schema";
import { json, makeApp, seedUser, type TestApp } from "../helpers";
import { IDENTITY_ERRORS } from "../../src/identity/errors";

// Kept as literals because these tests pin the contract text (the contracts' own words):
// "Could not validate credentials".

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());

const OK = "Tokens revoked successfully.";
const me = (token: string) => t.request("GET", "/api/auth/me", { token });
const refresh = (refresh_token: string) => t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token } });
const login = async (email: string, password: string) => json(await t.request("POST", "/api/v1/chat/authenticate", { body: { username: email, password } }));

describe("GET /api/v1/chat/tokens", () => {
  test("lists the caller's refresh tokens by id and dates, never the token", async () => {
    const s = await seedUser(t);
    const rotated = await json(await refresh(s.refreshToken));
    const res = await t.request("GET", "/api/v1/chat/tokens", { token: rotated.access_token });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.count).toBe(2);
    const [live, spent] = body.tokens;
    expect(live).toMatchObject({ active: true, used_at: null, revoked_at: null });
    expect(spent.active).toBe(false);
    expect(spent.used_at).not.toBeNull();
    expect(live.session_id).toBe(spent.session_id);
    expect(Object.keys(live).sort()).toEqual(["active", "created_at", "expires_at", "id", "revoked_at", "session_id", "used_at"]);
    const text = JSON.stringify(body);
    expect(text).not.toContain(s.refreshToken);
    expect(text).not.toContain(rotated.refresh_token);
  });

  test("another user's tokens are not listed", async () => {
    const a = await seedUser(t);
    const b = await seedUser(t);
    const body = await json(await t.request("GET", "/api/v1/chat/tokens", { token: b.accessToken }));
    const aIds = (await json(await t.request("GET", "/api/v1/chat/tokens", { token: a.accessToken }))).tokens.map((x: { id: string }) => x.id);
    for (const tok of body.tokens) expect(aIds).not.toContain(tok.id);
  });
});

describe("POST /api/v1/chat/revoke", () => {
  test("no body: the current session and its access token end; other sessions live on", async () => {
    const s = await seedUser(t);
    const other = await login(s.user.email, s.password);
    const res = await t.request("POST", "/api/v1/chat/revoke", { token: s.accessToken });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ message: OK, revoked_count: 1 });
    expect((await me(s.accessToken)).status).toBe(401);
    expect((await refresh(s.refreshToken)).status).toBe(401);
    expect((await me(other.access_token)).status).toBe(200);
    expect((await refresh(other.refresh_token)).status).toBe(200);
  });

  test("an empty JSON object is the current session too", async () => {
    const s = await seedUser(t);
    const res = await t.request("POST", "/api/v1/chat/revoke", { token: s.accessToken, body: {} });
    expect(await json(res)).toEqual({ message: OK, revoked_count: 1 });
    expect((await me(s.accessToken)).status).toBe(401);
  });

  test("token_id: the caller's own token; its session's access tokens stop", async () => {
    const s = await seedUser(t);
    const other = await login(s.user.email, s.password);
    const list = await json(await t.request("GET", "/api/v1/chat/tokens", { token: other.access_token }));
    const target = list.tokens.find((x: { session_id: string }) => x.session_id === JSON.parse(Buffer.from(s.accessToken.split(".")[1]!, "base64url").toString()).sid);
    const res = await t.request("POST", "/api/v1/chat/revoke", { token: other.access_token, body: { token_id: target.id } });
    expect(await json(res)).toEqual({ message: OK, revoked_count: 1 });
    expect((await refresh(s.refreshToken)).status).toBe(401);
    expect((await me(s.accessToken)).status).toBe(401);
    expect((await me(other.access_token)).status).toBe(200);
    const again = await t.request("POST", "/api/v1/chat/revoke", { token: other.access_token, body: { token_id: target.id } });
    expect(await json(again)).toEqual({ message: OK, revoked_count: 0 });
  });

  test("token_id of someone else, or unknown, is 404 and changes nothing", async () => {
    const victim = await seedUser(t);
    const attacker = await seedUser(t);
    const [victimToken] = (await json(await t.request("GET", "/api/v1/chat/tokens", { token: victim.accessToken }))).tokens;
    for (const token_id of [victimToken.id, "rt_doesnotexist"]) {
      const res = await t.request("POST", "/api/v1/chat/revoke", { token: attacker.accessToken, body: { token_id } });
      expect(res.status).toBe(404);
      expect(await json(res)).toEqual({ detail: IDENTITY_ERRORS.TOKEN_NOT_FOUND.message });
    }
    expect((await refresh(victim.refreshToken)).status).toBe(200);
  });

  test("all_tokens: every session and API token ends, including access tokens issued this very second; a new login works", async () => {
    const s = await seedUser(t);
    const admin = await seedUser(t, { role: "admin" });
    const issued = await json(await t.request("POST", "/api/admin/tokens", { token: admin.accessToken, body: { userId: s.user.id } }));
    const second = await login(s.user.email, s.password);
    const res = await t.request("POST", "/api/v1/chat/revoke", { token: s.accessToken, body: { all_tokens: true } });
    expect(await json(res)).toEqual({ message: OK, revoked_count: 2 });
    // Issued within the same second as tokens_valid_after: refused by the session revocations.
    for (const token of [s.accessToken, second.access_token]) expect((await me(token)).status).toBe(401);
    for (const token of [s.refreshToken, second.refresh_token]) expect((await refresh(token)).status).toBe(401);
    expect((await t.request("GET", "/api/contacts", { token: issued.token })).status).toBe(401);
    const listed = await json(await t.request("GET", `/api/admin/tokens?userId=${s.user.id}`, { token: admin.accessToken }));
    expect(listed.tokens[0].active).toBe(false);
    const [row] = await t.ctx.db.select().from(users).where(eq(users.id, s.user.id));
    expect(row!.tokensValidAfter.getTime()).toBeGreaterThan(s.user.tokensValidAfter.getTime());
    const fresh = await login(s.user.email, s.password);
    expect((await me(fresh.access_token)).status).toBe(200);
    expect((await refresh(fresh.refresh_token)).status).toBe(200);
  });

  test("an access token issued in an earlier second is refused by tokens_valid_after alone", async () => {
    const s = await seedUser(t);
    // Backdate the user's valid-after instead of sleeping: the token's iat is now below it.
    await t.ctx.db
      .update(users)
      .set({ tokensValidAfter: new Date(Date.now() + 2000) })
      .where(eq(users.id, s.user.id));
    t.ctx.services.identity.users.invalidate(s.user.id);
    expect((await me(s.accessToken)).status).toBe(401);
  });

  test("to the millisecond: valid-after just past a token's signing instant refuses it, just before accepts it", async () => {
    const s = await seedUser(t);
    await t.request("POST", "/api/v1/chat/revoke", { token: s.accessToken, body: { all_tokens: true } });
    const fresh = await login(s.user.email, s.password);
    const signedMs = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).iat_ms as number;
    // Same second as the token, either side of its millisecond: only the exact comparison tells.
    for (const [offset, want] of [
      [1, 401],
      [0, 200],
    ] as const) {
      await t.ctx.db
        .update(users)
        .set({ tokensValidAfter: new Date(signedMs(fresh.access_token) + offset) })
        .where(eq(users.id, s.user.id));
      t.ctx.services.identity.users.invalidate(s.user.id);
      expect((await me(fresh.access_token)).status).toBe(want);
    }
  });

  test("both token_id and all_tokens is 400; wrong types are 400 too (the contract's status for invalid parameters)", async () => {
    const s = await seedUser(t);
    const both = await t.request("POST", "/api/v1/chat/revoke", { token: s.accessToken, body: { token_id: "rt_x", all_tokens: true } });
    expect(both.status).toBe(400);
    expect(Object.keys(await json(both))).toEqual(["detail"]);
    const wrong = await t.request("POST", "/api/v1/chat/revoke", { token: s.accessToken, body: { all_tokens: "yes" } });
    expect(wrong.status).toBe(400);
    expect((await me(s.accessToken)).status).toBe(200);
  });

  test("a refresh token cannot revoke; no token is 401", async () => {
    const s = await seedUser(t);
    for (const token of [s.refreshToken, undefined]) {
      const res = await t.request("POST", "/api/v1/chat/revoke", { token });
      expect(res.status).toBe(401);
      expect(await json(res)).toEqual({ detail: "Could not validate credentials" });
    }
  });
});
