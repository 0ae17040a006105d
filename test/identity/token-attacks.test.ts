import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeJwt } from "jose";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { expectTokenAttacksRefused, tokenAttacks, type AttackRoute } from "./token-attacks";

let t: TestApp;
let admin: SeededUser;
let user: SeededUser;
let spentTokenId: string;
let apiTokenId: string;
beforeAll(async () => {
  t = await makeApp();
  admin = await seedUser(t, { role: "admin" });
  user = await seedUser(t);
  // A harmless target for revoke: an already-rotated token of the caller's own.
  spentTokenId = decodeJwt(user.refreshToken).jti as string;
  const rotated = await json(await t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token: user.refreshToken } }));
  user = { ...user, accessToken: rotated.access_token, refreshToken: rotated.refresh_token };
  const issued = await json(await t.request("POST", "/api/admin/tokens", { token: admin.accessToken, body: { userId: user.user.id } }));
  apiTokenId = decodeJwt(issued.token).jti as string;
}, 60_000);
afterAll(() => t.close());

let seq = 0;
// Built lazily: ids exist only after beforeAll.
const USER_ROUTES: [string, () => AttackRoute][] = [
  ["GET /api/auth/me", () => ({ method: "GET", path: "/api/auth/me" })],
  ["GET /api/v1/chat/tokens", () => ({ method: "GET", path: "/api/v1/chat/tokens" })],
  ["POST /api/v1/chat/revoke", () => ({ method: "POST", path: "/api/v1/chat/revoke", body: { token_id: spentTokenId } })],
];
const ADMIN_ROUTES: [string, () => AttackRoute][] = [
  ["GET /api/auth/users", () => ({ method: "GET", path: "/api/auth/users" })],
  ["POST /api/auth/users", () => ({ method: "POST", path: "/api/auth/users", body: { email: `attack${++seq}@example.test`, password: "password-1" } })],
  ["PATCH /api/auth/users/{id}", () => ({ method: "PATCH", path: `/api/auth/users/${user.user.id}`, body: { name: "Still Me" } })],
  ["GET /api/admin/tokens", () => ({ method: "GET", path: "/api/admin/tokens" })],
  ["POST /api/admin/tokens", () => ({ method: "POST", path: "/api/admin/tokens", body: { userId: user.user.id } })],
  ["DELETE /api/admin/tokens/{id}", () => ({ method: "DELETE", path: `/api/admin/tokens/${apiTokenId}` })],
];
const userRoutes = () => USER_ROUTES.map(([, r]) => r());
const adminRoutes = () => ADMIN_ROUTES.map(([, r]) => r());

describe("forged, expired, tampered, alg none and wrong-kind tokens are refused", () => {
  for (const [name, route] of USER_ROUTES) {
    test(name, async () => {
      await expectTokenAttacksRefused(t, route(), user.accessToken);
    });
  }
  for (const [name, route] of ADMIN_ROUTES) {
    test(name, async () => {
      await expectTokenAttacksRefused(t, route(), admin.accessToken);
    });
  }

  test("the helper really builds every kind of attack", async () => {
    const names = Object.keys(await tokenAttacks(t, user.accessToken));
    for (const n of ["alg none", "expired", "tampered payload", "forged with another secret", "refresh token", "api token", "chat token"]) {
      expect(names).toContain(n);
    }
  });

  test("POST /api/v1/chat/refresh refuses every token that is not a live refresh token", async () => {
    const s = await seedUser(t);
    const attacks = await tokenAttacks(t, s.refreshToken);
    for (const [name, token] of Object.entries(attacks)) {
      if (token === null) continue;
      const res = await t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token: token } });
      expect(res.status, name).toBe(401);
    }
    expect((await t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token: s.refreshToken } })).status).toBe(200);
  });

  test("an access token in an X-API-Key header or a query string is not read", async () => {
    const viaKey = await t.request("GET", "/api/auth/me", { headers: { "x-api-key": user.accessToken } });
    expect(viaKey.status).toBe(401);
    expect((await t.request("GET", `/api/auth/me?token=${user.accessToken}&access_token=${user.accessToken}`)).status).toBe(401);
  });
});

describe("revoked tokens are refused on every protected route", () => {
  test("a logged-out user's access token, and an admin's", async () => {
    const u = await seedUser(t);
    const a = await seedUser(t, { role: "admin" });
    for (const s of [u, a]) expect((await t.request("POST", "/api/v1/chat/revoke", { token: s.accessToken })).status).toBe(200);
    for (const route of userRoutes()) {
      const res = await t.request(route.method, route.path, { token: u.accessToken, body: route.body });
      expect(res.status, `${route.method} ${route.path}`).toBe(401);
    }
    for (const route of adminRoutes()) {
      const res = await t.request(route.method, route.path, { token: a.accessToken, body: route.body });
      expect(res.status, `${route.method} ${route.path}`).toBe(401);
    }
  });
});
