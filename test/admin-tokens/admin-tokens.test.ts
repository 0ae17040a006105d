import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { ADMIN_TOKEN_ERRORS } from "../../src/admin-tokens/errors";

// Kept as literals because these tests pin the contract text (the contracts' own words):
// "Could not validate credentials", "User ID is required", "User not found", "You do not have sufficient permissions for this operation".

let t: TestApp;
let admin: SeededUser;
beforeAll(async () => {
  t = await makeApp();
  admin = await seedUser(t, { role: "admin", name: "Admin User" });
}, 60_000);
afterAll(() => t.close());

const issue = (body: unknown, token = admin.accessToken) => t.request("POST", "/api/admin/tokens", { token, body });
// What an API token can open: the authenticator with the messaging routes' accept list.
const apiTokenWorks = async (token: string) => {
  const r = await t.ctx.authn.authenticate(new Request("http://x/", { headers: { authorization: `Bearer ${token}` } }), ["apiToken", "access", "apiKey"]);
  return r.ok;
};

describe("POST /api/admin/tokens", () => {
  test("issues a token for the user: {success, token, name}; kind api, jti is the row id", async () => {
    const u = await seedUser(t, { name: "Jane" });
    const res = await issue({ userId: u.user.id, expiration: null });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(Object.keys(body).sort()).toEqual(["name", "success", "token"]);
    expect(body).toMatchObject({ success: true, name: "Jane" });
    expect(decodeProtectedHeader(body.token).typ).toBe("chatgate-api+jwt");
    const claims = decodeJwt(body.token);
    expect(claims.sub).toBe(u.user.id);
    expect(claims.exp).toBeUndefined();
    const list = await json(await t.request("GET", `/api/admin/tokens?userId=${u.user.id}`, { token: admin.accessToken }));
    expect(list.tokens.map((x: { id: string }) => x.id)).toEqual([claims.jti]);
    expect(await apiTokenWorks(body.token)).toBe(true);
  });

  test("an ISO-8601 expiration in the future becomes exp", async () => {
    const u = await seedUser(t);
    const when = new Date(Date.now() + 3600_000);
    when.setMilliseconds(0);
    const body = await json(await issue({ userId: u.user.id, expiration: when.toISOString() }));
    expect(decodeJwt(body.token).exp).toBe(when.getTime() / 1000);
    const [row] = (await json(await t.request("GET", `/api/admin/tokens?userId=${u.user.id}`, { token: admin.accessToken }))).tokens;
    expect(row.expiresAt).toBe(when.toISOString());
  });

  test("400s in the {message, status} shape", async () => {
    const cases: [unknown, string][] = [
      [{}, "User ID is required"],
      [{ userId: "" }, "User ID is required"],
      [{ userId: 42 }, ADMIN_TOKEN_ERRORS.USER_ID_NOT_STRING.message],
      [{ userId: admin.user.id, expiration: "tomorrow" }, ADMIN_TOKEN_ERRORS.BAD_EXPIRATION.message],
      [{ userId: admin.user.id, expiration: 1735689599 }, ADMIN_TOKEN_ERRORS.BAD_EXPIRATION.message],
      [{ userId: admin.user.id, expiration: "2024-12-31T23:59:59.000Z" }, ADMIN_TOKEN_ERRORS.PAST_EXPIRATION.message],
    ];
    for (const [body, message] of cases) {
      const res = await issue(body);
      expect(res.status).toBe(400);
      expect(await json(res)).toEqual({ message, status: 400 });
    }
  });

  test("404 for an unknown user", async () => {
    const res = await issue({ userId: "usr_nobody" });
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ message: "User not found", status: 404 });
  });

  test("401 without a token (even with a bad body), 403 for a non-admin", async () => {
    const anon = await t.request("POST", "/api/admin/tokens", { body: {} });
    expect(anon.status).toBe(401);
    expect(await json(anon)).toEqual({ message: "Could not validate credentials", status: 401 });
    const u = await seedUser(t);
    const res = await issue({ userId: u.user.id }, u.accessToken);
    expect(res.status).toBe(403);
    expect(await json(res)).toEqual({ message: "You do not have sufficient permissions for this operation", status: 403 });
  });

  test("the token authenticates its user on a messaging route", async () => {
    const u = await seedUser(t);
    const body = await json(await issue({ userId: u.user.id }));
    const res = await t.request("GET", "/api/contacts", { token: body.token });
    expect(res.status).toBe(200);
  });

  test("an API token never works on admin routes, even an admin's own", async () => {
    const own = await json(await issue({ userId: admin.user.id }));
    const res = await issue({ userId: admin.user.id }, own.token);
    expect(res.status).toBe(401);
    expect((await t.request("GET", "/api/admin/tokens", { token: own.token })).status).toBe(401);
  });
});

describe("GET /api/admin/tokens", () => {
  test("lists ids and dates, never a token; filters by userId", async () => {
    const a = await seedUser(t);
    const b = await seedUser(t);
    const ta = await json(await issue({ userId: a.user.id }));
    await issue({ userId: b.user.id });
    const all = await json(await t.request("GET", "/api/admin/tokens", { token: admin.accessToken }));
    expect(all.success).toBe(true);
    expect(all.count).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(all)).not.toContain(ta.token);
    const onlyA = await json(await t.request("GET", `/api/admin/tokens?userId=${a.user.id}`, { token: admin.accessToken }));
    expect(onlyA.tokens).toHaveLength(1);
    expect(onlyA.tokens[0]).toMatchObject({ userId: a.user.id, createdBy: admin.user.id, revokedAt: null, active: true, expiresAt: null });
  });

  test("lastUsedAt is recorded (in batches) when the token authenticates a request", async () => {
    const u = await seedUser(t);
    const issued = await json(await issue({ userId: u.user.id }));
    const list = async () => (await json(await t.request("GET", `/api/admin/tokens?userId=${u.user.id}`, { token: admin.accessToken }))).tokens[0];
    expect((await list()).lastUsedAt).toBeNull();
    expect((await t.request("GET", "/api/messages", { token: issued.token })).status).toBe(200);
    expect(await t.ctx.services.adminTokens.rows.lastUsed.flush()).toBeGreaterThanOrEqual(1);
    expect(Date.parse((await list()).lastUsedAt)).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe("DELETE /api/admin/tokens/{id}", () => {
  test("revokes at once", async () => {
    const u = await seedUser(t);
    const body = await json(await issue({ userId: u.user.id }));
    expect(await apiTokenWorks(body.token)).toBe(true);
    const id = decodeJwt(body.token).jti as string;
    const res = await t.request("DELETE", `/api/admin/tokens/${id}`, { token: admin.accessToken });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ success: true, message: "Token revoked" });
    expect(await apiTokenWorks(body.token)).toBe(false);
    const [row] = (await json(await t.request("GET", `/api/admin/tokens?userId=${u.user.id}`, { token: admin.accessToken }))).tokens;
    expect(row.active).toBe(false);
    // Idempotent.
    expect((await t.request("DELETE", `/api/admin/tokens/${id}`, { token: admin.accessToken })).status).toBe(200);
  });

  test("404 for an unknown id, 403 for a user", async () => {
    const res = await t.request("DELETE", "/api/admin/tokens/tok_nope", { token: admin.accessToken });
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ message: ADMIN_TOKEN_ERRORS.TOKEN_NOT_FOUND.message, status: 404 });
    const u = await seedUser(t);
    expect((await t.request("DELETE", "/api/admin/tokens/tok_nope", { token: u.accessToken })).status).toBe(403);
  });

  test("disabling the user ends the user's API tokens", async () => {
    const u = await seedUser(t);
    const body = await json(await issue({ userId: u.user.id }));
    await t.request("PATCH", `/api/auth/users/${u.user.id}`, { token: admin.accessToken, body: { disabled: true } });
    expect(await apiTokenWorks(body.token)).toBe(false);
  });
});
