import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { IDENTITY_ERRORS } from "../../src/identity/errors";

// Kept as literals because these tests pin the contract text (the contracts' own words):
// "Could not validate credentials", "User not found", "You do not have sufficient permissions for this operation".

let t: TestApp;
let admin: SeededUser;
beforeAll(async () => {
  t = await makeApp();
  admin = await seedUser(t, { role: "admin" });
}, 60_000);
afterAll(() => t.close());

const FORBIDDEN = { detail: "You do not have sufficient permissions for this operation" };
const INVALID = { detail: "Could not validate credentials" };

describe("POST /api/auth/users", () => {
  test("201 with the documented fields; role defaults to user", async () => {
    const res = await t.request("POST", "/api/auth/users", {
      token: admin.accessToken,
      body: { email: "nuevo@usuario.com", name: "Nuevo Usuario", password: "contraseña_segura" },
    });
    expect(res.status).toBe(201);
    const body = await json(res);
    expect(body).toMatchObject({ email: "nuevo@usuario.com", name: "Nuevo Usuario", role: "user" });
    expect(body.id).toMatch(/^usr_[A-Za-z0-9]{22}$/);
    expect(new Date(body.created_at).toISOString()).toBe(body.created_at);
    expect(typeof body.customer_id).toBe("number");
    expect(body).not.toHaveProperty("password_hash");
    const login = await t.request("POST", "/api/v1/chat/authenticate", { body: { username: "nuevo@usuario.com", password: "contraseña_segura" } });
    expect(login.status).toBe(200);
  });

  test("duplicate email (any case) is 409", async () => {
    const body = { email: "dup@example.test", password: "password-1" };
    expect((await t.request("POST", "/api/auth/users", { token: admin.accessToken, body })).status).toBe(201);
    const again = await t.request("POST", "/api/auth/users", { token: admin.accessToken, body: { ...body, email: "DUP@example.test" } });
    expect(again.status).toBe(409);
    expect(Object.keys(await json(again))).toEqual(["detail"]);
  });

  test("customer ids are unique", async () => {
    const a = await json(await t.request("POST", "/api/auth/users", { token: admin.accessToken, body: { email: "c1@example.test", password: "password-1" } }));
    const b = await json(await t.request("POST", "/api/auth/users", { token: admin.accessToken, body: { email: "c2@example.test", password: "password-1" } }));
    expect(a.customer_id).not.toBe(b.customer_id);
  });

  test("password rules: too short, too long, control characters are 422", async () => {
    for (const [password, detail] of [
      ["short", IDENTITY_ERRORS.PASSWORD_TOO_SHORT.message(8)],
      ["x".repeat(1025), IDENTITY_ERRORS.PASSWORD_TOO_LONG.message(1024)],
      ["abcdefgh\u0007", IDENTITY_ERRORS.PASSWORD_CONTROL_CHARACTERS.message],
    ]) {
      const res = await t.request("POST", "/api/auth/users", { token: admin.accessToken, body: { email: "pw@example.test", password } });
      expect(res.status).toBe(422);
      expect(await json(res)).toEqual({ detail });
    }
  });

  test("invalid email is 422", async () => {
    const res = await t.request("POST", "/api/auth/users", { token: admin.accessToken, body: { email: "not-an-email", password: "password-1" } });
    expect(res.status).toBe(422);
  });

  test("a user's token is 403, no token is 401", async () => {
    const u = await seedUser(t);
    const body = { email: "x@example.test", password: "password-1" };
    const res = await t.request("POST", "/api/auth/users", { token: u.accessToken, body });
    expect(res.status).toBe(403);
    expect(await json(res)).toEqual(FORBIDDEN);
    const anon = await t.request("POST", "/api/auth/users", { body });
    expect(anon.status).toBe(401);
    expect(anon.headers.get("www-authenticate")).toBe("Bearer");
    expect(await json(anon)).toEqual(INVALID);
  });
});

describe("GET /api/auth/users", () => {
  test("admin lists users with their state, never hashes", async () => {
    const u = await seedUser(t);
    const res = await t.request("GET", "/api/auth/users", { token: admin.accessToken });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.count).toBe(body.users.length);
    const row = body.users.find((x: { id: string }) => x.id === u.user.id);
    expect(row).toMatchObject({ email: u.user.email, role: "user", disabled: false, disabled_at: null });
    expect(JSON.stringify(body)).not.toContain("argon2");
  });

  test("403 for a user", async () => {
    const u = await seedUser(t);
    expect((await t.request("GET", "/api/auth/users", { token: u.accessToken })).status).toBe(403);
  });
});

describe("PATCH /api/auth/users/{id}", () => {
  test("name and role; the new role applies to the user's existing access token at once", async () => {
    const u = await seedUser(t);
    expect((await t.request("GET", "/api/auth/users", { token: u.accessToken })).status).toBe(403);
    const res = await t.request("PATCH", `/api/auth/users/${u.user.id}`, { token: admin.accessToken, body: { name: "Renamed", role: "admin" } });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ id: u.user.id, name: "Renamed", role: "admin" });
    expect((await t.request("GET", "/api/auth/users", { token: u.accessToken })).status).toBe(200);
    const me = await json(await t.request("GET", "/api/auth/me", { token: u.accessToken }));
    expect(me).toMatchObject({ name: "Renamed", role: "admin" });
  });

  test("unknown user is 404", async () => {
    const res = await t.request("PATCH", "/api/auth/users/usr_nobody", { token: admin.accessToken, body: { name: "x" } });
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ detail: "User not found" });
  });

  test("an admin cannot disable or demote themselves", async () => {
    for (const body of [{ disabled: true }, { role: "user" }]) {
      const res = await t.request("PATCH", `/api/auth/users/${admin.user.id}`, { token: admin.accessToken, body });
      expect(res.status).toBe(400);
    }
  });

  test("disabling ends access tokens, refresh tokens and login at once; re-enabling allows a new login", async () => {
    const u = await seedUser(t);
    expect((await t.request("GET", "/api/auth/me", { token: u.accessToken })).status).toBe(200);
    const res = await t.request("PATCH", `/api/auth/users/${u.user.id}`, { token: admin.accessToken, body: { disabled: true } });
    expect(res.status).toBe(200);
    expect((await json(res)).disabled).toBe(true);
    expect((await t.request("GET", "/api/auth/me", { token: u.accessToken })).status).toBe(401);
    expect((await t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token: u.refreshToken } })).status).toBe(401);
    const enabled = await t.request("PATCH", `/api/auth/users/${u.user.id}`, { token: admin.accessToken, body: { disabled: false } });
    expect((await json(enabled)).disabled).toBe(false);
    // Old tokens stay dead; a new login works.
    expect((await t.request("GET", "/api/auth/me", { token: u.accessToken })).status).toBe(401);
    expect((await t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token: u.refreshToken } })).status).toBe(401);
    const login = await t.request("POST", "/api/v1/chat/authenticate", { body: { username: u.user.email, password: u.password } });
    expect(login.status).toBe(200);
  });

  test("a password change ends sessions and API tokens; only the new password logs in", async () => {
    const u = await seedUser(t);
    const issued = await json(await t.request("POST", "/api/admin/tokens", { token: admin.accessToken, body: { userId: u.user.id, expiration: null } }));
    const other = await t.request("POST", "/api/v1/chat/authenticate", { body: { username: u.user.email, password: u.password } });
    const second = await json(other);
    const res = await t.request("PATCH", `/api/auth/users/${u.user.id}`, { token: admin.accessToken, body: { password: "a-brand-new-password" } });
    expect(res.status).toBe(200);
    for (const token of [u.accessToken, second.access_token, issued.token]) {
      expect((await t.request("GET", "/api/auth/me", { token })).status).toBe(401);
    }
    for (const refresh_token of [u.refreshToken, second.refresh_token]) {
      expect((await t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token } })).status).toBe(401);
    }
    const listed = await json(await t.request("GET", `/api/admin/tokens?userId=${u.user.id}`, { token: admin.accessToken }));
    expect(listed.tokens[0].revokedAt).not.toBeNull();
    expect((await t.request("POST", "/api/v1/chat/authenticate", { body: { username: u.user.email, password: u.password } })).status).toBe(401);
    const fresh = await t.request("POST", "/api/v1/chat/authenticate", { body: { username: u.user.email, password: "a-brand-new-password" } });
    expect(fresh.status).toBe(200);
    expect((await t.request("GET", "/api/auth/me", { token: (await json(fresh)).access_token })).status).toBe(200);
  });

  test("a too-short new password is 422 and changes nothing", async () => {
    const u = await seedUser(t);
    const res = await t.request("PATCH", `/api/auth/users/${u.user.id}`, { token: admin.accessToken, body: { password: "short" } });
    expect(res.status).toBe(422);
    expect((await t.request("GET", "/api/auth/me", { token: u.accessToken })).status).toBe(200);
  });
});

describe("GET /api/auth/me", () => {
  test("the caller's user object", async () => {
    const u = await seedUser(t, { name: "Me" });
    const res = await t.request("GET", "/api/auth/me", { token: u.accessToken });
    expect(await json(res)).toEqual({
      id: u.user.id,
      email: u.user.email,
      name: "Me",
      role: "user",
      username: null,
      customer_id: u.user.customerId,
      created_at: u.user.createdAt.toISOString(),
    });
  });
});
