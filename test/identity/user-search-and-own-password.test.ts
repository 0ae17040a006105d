// GET /api/auth/users?q= (server-side search for the console) and POST /api/auth/me/password
// (a signed-in user changes their own password).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { json, makeApp, seedUser, within, type SeededUser, type TestApp } from "../helpers";
import { IDENTITY_ERRORS } from "../../src/identity/errors";

let t: TestApp;
let admin: SeededUser;
beforeAll(async () => {
  t = await makeApp({ LOGIN_MAX_FAILURES: "3" });
  admin = await seedUser(t, { role: "admin" });
  await seedUser(t, { email: "zelda.search@example.test", name: "Zelda Hyrule" });
  await seedUser(t, { email: "link.search@example.test", name: "Link 100% Hero" });
  await seedUser(t, { email: "ganon@example.test", name: "Ganon_dorf" });
}, 60_000);
afterAll(() => t.close());

const get = (path: string, token = admin.accessToken) => t.request("GET", path, { token });
const emails = (body: { users: Array<{ email: string }> }) => body.users.map((u) => u.email).sort();

describe("GET /api/auth/users?q=", () => {
  test("matches email, name, username or id, case-insensitively; count is the number that match", async () => {
    const byEmail = await json(await get("/api/auth/users?q=SEARCH@"));
    expect(emails(byEmail)).toEqual(["link.search@example.test", "zelda.search@example.test"]);
    expect(byEmail.count).toBe(2);
    expect(emails(await json(await get("/api/auth/users?q=hyrule")))).toEqual(["zelda.search@example.test"]);
    const ganon = (await json(await get("/api/auth/users?q=ganon@"))).users[0];
    expect(emails(await json(await get(`/api/auth/users?q=${ganon.id}`)))).toEqual(["ganon@example.test"]);
    expect(emails(await json(await get(`/api/auth/users?q=${ganon.customer_id}`)))).toContain("ganon@example.test");
    const none = await json(await get("/api/auth/users?q=nobody-matches-this"));
    expect({ users: none.users, count: none.count }).toEqual({ users: [], count: 0 });
  });

  test("% and _ are plain characters, not patterns; blank q lists everyone", async () => {
    expect(emails(await json(await get(`/api/auth/users?q=${encodeURIComponent("100%")}`)))).toEqual(["link.search@example.test"]);
    expect(emails(await json(await get("/api/auth/users?q=%25")))).toEqual(["link.search@example.test"]);
    expect(emails(await json(await get("/api/auth/users?q=n_d")))).toEqual(["ganon@example.test"]);
    const all = await json(await get("/api/auth/users"));
    expect((await json(await get("/api/auth/users?q=%20%20"))).count).toBe(all.count);
  });

  test("pages and cursors apply within the matches", async () => {
    const first = await json(await get("/api/auth/users?q=search&limit=1"));
    expect(first.users).toHaveLength(1);
    expect(first.count).toBe(2);
    const next = await json(await get(`/api/auth/users?q=search&limit=1&after=${first.next_cursor}`));
    expect(next.users).toHaveLength(1);
    expect(next.users[0].id).not.toBe(first.users[0].id);
    const byOffset = await json(await get("/api/auth/users?q=search&limit=1&offset=1"));
    expect(byOffset.users[0].id).toBe(next.users[0].id);
  });

  test("hostile input: too long is 422 in the detail shape; quotes and SQL are just text", async () => {
    const long = await get(`/api/auth/users?q=${"a".repeat(201)}`);
    expect(long.status).toBe(422);
    expect(typeof (await json(long)).detail).not.toBe("undefined");
    for (const q of ["' or 1=1 --", "\\", "😀", "a'); drop table users; --"]) {
      const res = await get(`/api/auth/users?q=${encodeURIComponent(q)}`);
      expect(res.status).toBe(200);
      expect((await json(res)).count).toBe(0);
    }
    expect((await get("/api/auth/users?q=%00")).status).toBe(422);
  });

  test("wrong level: a user is 403, no credential 401", async () => {
    const u = await seedUser(t);
    expect((await get("/api/auth/users?q=a", u.accessToken)).status).toBe(403);
    expect((await t.request("GET", "/api/auth/users?q=a")).status).toBe(401);
  });
});

describe("POST /api/auth/me/password", () => {
  const change = (token: string | undefined, body: unknown, headers?: Record<string, string>) => t.request("POST", "/api/auth/me/password", { token, body, headers });
  const login = (email: string, password: string) => t.request("POST", "/api/v1/chat/authenticate", { body: { username: email, password } });

  test("changes the password; other sessions end, this one stays; API keys are kept", async () => {
    const u = await seedUser(t);
    const other = await json(await login(u.user.email, u.password));
    const key = await json(await t.request("POST", "/api/auth/api-keys", { token: admin.accessToken, body: { name: "kept", user_id: u.user.id, level: "read" } }));
    const res = await change(u.accessToken, { current_password: u.password, new_password: "a-fresh-password-42" });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ message: "Password changed; your other sessions are signed out", other_sessions_ended: 1 });

    expect((await t.request("GET", "/api/auth/me", { token: u.accessToken })).status).toBe(200);
    expect(await within(3000, async () => (await t.request("GET", "/api/auth/me", { token: other.access_token })).status === 401)).toBe(true);
    expect((await t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token: other.refresh_token } })).status).toBe(401);
    expect((await t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token: u.refreshToken } })).status).toBe(200);
    expect((await login(u.user.email, u.password)).status).toBe(401);
    expect((await login(u.user.email, "a-fresh-password-42")).status).toBe(200);
    expect((await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": key.key } })).status).toBe(200);
    const audit = await json(await get(`/api/admin/audit?action=user.password_changed&target_id=${u.user.id}`));
    expect(audit.events).toHaveLength(1);
  });

  test("the new password follows the rules; the same one is refused", async () => {
    const u = await seedUser(t);
    for (const [new_password, detail] of [
      ["short", IDENTITY_ERRORS.PASSWORD_TOO_SHORT.message(8)],
      [u.password, IDENTITY_ERRORS.SAME_PASSWORD.message],
      ["password", undefined],
    ] as const) {
      const res = await change(u.accessToken, { current_password: u.password, new_password });
      expect(res.status).toBe(422);
      if (detail) expect((await json(res)).detail).toBe(detail);
    }
    expect((await login(u.user.email, u.password)).status).toBe(200);
  });

  test("hostile bodies are 422; credentials are checked before the body; only an access token may change it", async () => {
    const u = await seedUser(t);
    for (const body of [{}, { current_password: 1, new_password: "x" }, { current_password: u.password }, []]) {
      expect((await change(u.accessToken, body)).status).toBe(422);
    }
    expect((await change(u.accessToken, { current_password: "x".repeat(5000), new_password: "a-fresh-password-42" })).status).toBe(422);
    expect((await change(undefined, "{not json")).status).toBe(401);
    expect((await change("garbage", { current_password: u.password, new_password: "a-fresh-password-42" })).status).toBe(401);
    const key = await json(await t.request("POST", "/api/auth/api-keys", { token: admin.accessToken, body: { name: "k", user_id: u.user.id, level: "admin" } }));
    const byKey = await change(undefined, { current_password: u.password, new_password: "a-fresh-password-42" }, { "x-api-key": key.key });
    expect(byKey.status).toBe(401);
    expect((await login(u.user.email, u.password)).status).toBe(200);
  });
  // Last: its failures fill the (shared, in-process) address's sign-in counter.
  test("a wrong current password is 403 in words and changes nothing; repeated, it is throttled (429)", async () => {
    const u = await seedUser(t);
    const wrong = await change(u.accessToken, { current_password: "not-my-password", new_password: "a-fresh-password-42" });
    expect(wrong.status).toBe(403);
    expect(await json(wrong)).toEqual({ detail: IDENTITY_ERRORS.CURRENT_PASSWORD_WRONG.message });
    expect((await login(u.user.email, u.password)).status).toBe(200);
    for (let i = 0; i < 2; i++) await change(u.accessToken, { current_password: `wrong-${i}-password`, new_password: "a-fresh-password-42" });
    const throttled = await change(u.accessToken, { current_password: u.password, new_password: "a-fresh-password-42" });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await login(u.user.email, "a-fresh-password-42")).status).not.toBe(200);
  });
});
