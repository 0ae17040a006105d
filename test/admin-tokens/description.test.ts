// A description per admin-issued API token, so one user's tokens can be told apart.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { ADMIN_TOKEN_ERRORS } from "../../src/admin-tokens/errors";

let t: TestApp;
let admin: SeededUser;
let owner: SeededUser;
beforeAll(async () => {
  t = await makeApp();
  admin = await seedUser(t, { role: "admin" });
  owner = await seedUser(t, { name: "Owner" });
}, 60_000);
afterAll(() => t.close());

const issue = (body: unknown, token = admin.accessToken) => t.request("POST", "/api/admin/tokens", { token, body });
const list = async () =>
  (await json(await t.request("GET", `/api/admin/tokens?userId=${owner.user.id}`, { token: admin.accessToken }))).tokens as Array<{ id: string; description: string | null }>;
const BAD = { message: ADMIN_TOKEN_ERRORS.BAD_DESCRIPTION.message, status: 400 };

describe("API token descriptions", () => {
  test("optional at issue; listed per token; the answer of issue is unchanged", async () => {
    const a = await issue({ userId: owner.user.id, description: "  billing export  " });
    expect(a.status).toBe(200);
    expect(Object.keys(await json(a)).sort()).toEqual(["name", "success", "token"]);
    expect((await issue({ userId: owner.user.id })).status).toBe(200);
    expect((await issue({ userId: owner.user.id, description: null })).status).toBe(200);
    const rows = await list();
    expect(rows.map((r) => r.description).sort()).toEqual(["billing export", null, null].sort());
  });

  test("PATCH sets and clears it, and is audited", async () => {
    const [row] = await list();
    const set = await t.request("PATCH", `/api/admin/tokens/${row!.id}`, { token: admin.accessToken, body: { description: "zapier <b>" } });
    expect(set.status).toBe(200);
    expect((await json(set)).description).toBe("zapier <b>");
    expect((await list()).find((r) => r.id === row!.id)!.description).toBe("zapier <b>");
    const cleared = await t.request("PATCH", `/api/admin/tokens/${row!.id}`, { token: admin.accessToken, body: { description: null } });
    expect((await json(cleared)).description).toBeNull();
    const audit = await json(await t.request("GET", `/api/admin/audit?action=api_token.described&target_id=${row!.id}`, { token: admin.accessToken }));
    expect(audit.events).toHaveLength(2);
  });

  test("hostile input is 400 in the admin shape and changes nothing", async () => {
    const before = await list();
    for (const description of ["x".repeat(201), 42, ["a"], { a: 1 }, "line\nbreak", "nul\u0007"]) {
      const res = await issue({ userId: owner.user.id, description });
      expect(res.status).toBe(400);
      expect(await json(res)).toMatchObject(BAD);
      const patched = await t.request("PATCH", `/api/admin/tokens/${before[0]!.id}`, { token: admin.accessToken, body: { description } });
      expect(patched.status).toBe(400);
      expect(await json(patched)).toMatchObject(BAD);
    }
    expect((await t.request("PATCH", `/api/admin/tokens/${before[0]!.id}`, { token: admin.accessToken, body: {} })).status).toBe(400);
    expect((await t.request("PATCH", "/api/admin/tokens/tok_nope", { token: admin.accessToken, body: { description: "x" } })).status).toBe(404);
    expect(await list()).toEqual(before);
  });

  test("wrong level: a user is 403, no token 401, before the body is read", async () => {
    const [row] = await list();
    const asUser = await t.request("PATCH", `/api/admin/tokens/${row!.id}`, { token: owner.accessToken, body: { description: "mine" } });
    expect(asUser.status).toBe(403);
    expect((await t.request("PATCH", `/api/admin/tokens/${row!.id}`, { body: "{not json", headers: { "content-type": "application/json" } })).status).toBe(401);
    expect((await issue({ userId: owner.user.id, description: 5 }, owner.accessToken)).status).toBe(403);
  });
});
