import { afterAll, beforeAll, describe, expect, spyOn, test } from "bun:test";
import { json, makeApp, seedUser, settle, type TestApp } from "../helpers";
import { IDENTITY_ERRORS } from "../../src/identity/errors";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());

const BAD = { detail: IDENTITY_ERRORS.BAD_LOGIN.message };
const login = (username: string, password: string) => t.request("POST", "/api/v1/chat/authenticate", { body: { username, password } });

describe("POST /api/v1/chat/authenticate", () => {
  test("email, any case: tokens, the user object and a message", async () => {
    const s = await seedUser(t, { name: "Ada" });
    const res = await login(`  ${s.user.email.toUpperCase()}`, s.password);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "message", "refresh_token", "token_type", "user"]);
    expect(body.token_type).toBe("bearer");
    expect(body.message).toBe("Authentication successful");
    expect(body.user).toEqual({
      id: s.user.id,
      email: s.user.email,
      name: "Ada",
      role: "user",
      username: null,
      customer_id: s.user.customerId,
      created_at: s.user.createdAt.toISOString(),
    });
    const me = await t.request("GET", "/api/auth/me", { token: body.access_token });
    expect(me.status).toBe(200);
    expect(await json(me)).toEqual(body.user);
  });

  test("username, any case", async () => {
    const admin = await seedUser(t, { role: "admin" });
    const created = await t.request("POST", "/api/auth/users", {
      token: admin.accessToken,
      body: { email: "grace@example.test", name: "Grace", password: "correct horse", username: "Grace.H" },
    });
    expect(created.status).toBe(201);
    const res = await login("grace.h", "correct horse");
    expect(res.status).toBe(200);
    expect((await json(res)).user.username).toBe("Grace.H");
  });

  test("wrong password and unknown user: same 401 body, WWW-Authenticate, one argon2 verify each", async () => {
    const s = await seedUser(t);
    const verify = spyOn(Bun.password, "verify");
    try {
      const wrong = await login(s.user.email, "wrong-password");
      const unknown = await login("nobody@example.test", "wrong-password");
      for (const res of [wrong, unknown]) {
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toBe("Bearer");
        expect(await json(res)).toEqual(BAD);
      }
      expect(verify).toHaveBeenCalledTimes(2);
    } finally {
      verify.mockRestore();
    }
  });

  test("a password over 1024 characters is 422 before any argon2 work", async () => {
    const s = await seedUser(t);
    const verify = spyOn(Bun.password, "verify");
    const hash = spyOn(Bun.password, "hash");
    try {
      const res = await login(s.user.email, "a".repeat(1025));
      expect(res.status).toBe(422);
      expect(await json(res)).toEqual({ detail: IDENTITY_ERRORS.PASSWORD_TOO_LONG.message(1024) });
      expect(verify).not.toHaveBeenCalled();
      expect(hash).not.toHaveBeenCalled();
    } finally {
      verify.mockRestore();
      hash.mockRestore();
    }
  });

  test("control characters in the password are 422", async () => {
    const res = await login("someone@example.test", "abc\u0000defghij");
    expect(res.status).toBe(422);
    expect(await json(res)).toEqual({ detail: IDENTITY_ERRORS.PASSWORD_CONTROL_CHARACTERS.message });
  });

  test("missing fields are 422 in the detail shape", async () => {
    const res = await t.request("POST", "/api/v1/chat/authenticate", { body: { username: "x" } });
    expect(res.status).toBe(422);
    expect(Object.keys(await json(res))).toEqual(["detail"]);
  });

  test("a disabled user gets the same 401 even with the right password", async () => {
    const admin = await seedUser(t, { role: "admin" });
    const s = await seedUser(t);
    const patched = await t.request("PATCH", `/api/auth/users/${s.user.id}`, { token: admin.accessToken, body: { disabled: true } });
    expect(patched.status).toBe(200);
    const res = await login(s.user.email, s.password);
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual(BAD);
  });

  test("metrics count logins by result and tokens by kind", async () => {
    const s = await seedUser(t);
    await login(s.user.email, s.password);
    await login(s.user.email, "nope-nope-nope");
    await settle();
    const text = await (await t.request("GET", "/metrics")).text();
    expect(text).toMatch(/chatgate_logins_total\{result="ok"\} [1-9]/);
    expect(text).toMatch(/chatgate_logins_total\{result="failed"\} [1-9]/);
    expect(text).toMatch(/chatgate_tokens_issued_total\{kind="refresh"\} [1-9]/);
  });

  test("no password or token appears in the logs", async () => {
    const s = await seedUser(t);
    const res = await login(s.user.email, s.password);
    const body = await json(res);
    await login(s.user.email, "secret-wrong-password");
    await settle();
    const all = t.logs.join("\n");
    expect(all).not.toContain(s.password);
    expect(all).not.toContain("secret-wrong-password");
    expect(all).not.toContain(body.refresh_token);
  });
});

describe("POST /api/auth/token", () => {
  test("form-urlencoded: the documented fields", async () => {
    const s = await seedUser(t, { role: "admin", name: "Boss" });
    const res = await t.request("POST", "/api/auth/token", {
      body: new URLSearchParams({ username: s.user.email, password: s.password, grant_type: "password" }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({ token_type: "bearer", user_id: s.user.id, email: s.user.email, name: "Boss", role: "admin" });
    expect(typeof body.access_token).toBe("string");
    expect((await t.request("GET", "/api/auth/me", { token: body.access_token })).status).toBe(200);
  });

  test("JSON works too; a wrong password is the 401 detail", async () => {
    const s = await seedUser(t);
    expect((await t.request("POST", "/api/auth/token", { body: { username: s.user.email, password: s.password } })).status).toBe(200);
    const bad = await t.request("POST", "/api/auth/token", { body: { username: s.user.email, password: "wrong-wrong" } });
    expect(bad.status).toBe(401);
    expect(await json(bad)).toEqual(BAD);
  });
});
