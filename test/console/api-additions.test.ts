// The two admin reads the console needed and the API lacked: a user's balance, a chatflow's users.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";

let t: TestApp;
let admin: SeededUser;
let user: SeededUser;

beforeAll(async () => {
  t = await makeApp();
  admin = await seedUser(t, { role: "admin" });
  user = await seedUser(t);
}, 60_000);
afterAll(() => t.close());

describe("GET /api/admin/users/:id/credits", () => {
  test("answers the balance after grants", async () => {
    const zero = await t.request("GET", `/api/admin/users/${user.user.id}/credits`, { token: admin.accessToken });
    expect(zero.status).toBe(200);
    expect((await zero.json()).credits_remaining).toBe(0);
    await t.request("POST", `/api/admin/users/${user.user.id}/credits`, { token: admin.accessToken, body: { amount: 42, reason: "welcome" } });
    const res = await t.request("GET", `/api/admin/users/${user.user.id}/credits`, { token: admin.accessToken });
    expect(await res.json()).toMatchObject({ user_id: user.user.id, credits_remaining: 42 });
  });

  test("404 for an unknown user, 403 for a non-admin, 401 without a token", async () => {
    expect((await t.request("GET", `/api/admin/users/nope/credits`, { token: admin.accessToken })).status).toBe(404);
    const refused = await t.request("GET", `/api/admin/users/${user.user.id}/credits`, { token: user.accessToken });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ status: 403 });
    expect((await t.request("GET", `/api/admin/users/${user.user.id}/credits`)).status).toBe(401);
  });
});

describe("GET /api/admin/chatflows/:id/users", () => {
  const flowId = "0b6f4d5e-1c2a-4f3b-9d8e-7a6b5c4d3e2f";

  test("lists granted users, follows grant and withdraw", async () => {
    const made = await t.request("POST", "/api/admin/chatflows", { token: admin.accessToken, body: { id: flowId, name: "Support bot" } });
    expect(made.status).toBe(201);
    const empty = await t.request("GET", `/api/admin/chatflows/${flowId}/users`, { token: admin.accessToken });
    expect(await empty.json()).toEqual({ chatflow_id: flowId, users: [], count: 0, limit: 100, offset: 0 });

    expect((await t.request("PUT", `/api/admin/chatflows/${flowId}/users/${user.user.id}`, { token: admin.accessToken })).status).toBe(201);
    const one = await (await t.request("GET", `/api/admin/chatflows/${flowId}/users`, { token: admin.accessToken })).json();
    expect(one.count).toBe(1);
    expect(one.users[0]).toMatchObject({ id: user.user.id, email: user.user.email, role: "user" });

    await t.request("DELETE", `/api/admin/chatflows/${flowId}/users/${user.user.id}`, { token: admin.accessToken });
    const none = await (await t.request("GET", `/api/admin/chatflows/${flowId}/users`, { token: admin.accessToken })).json();
    expect(none.count).toBe(0);
  });

  test("404 for an unknown chatflow, 403 for a non-admin", async () => {
    expect((await t.request("GET", `/api/admin/chatflows/unknown/users`, { token: admin.accessToken })).status).toBe(404);
    expect((await t.request("GET", `/api/admin/chatflows/${flowId}/users`, { token: user.accessToken })).status).toBe(403);
  });
});
