import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { expectAccessOnly, expectAdminOnly } from "./helpers";
import { CHATFLOW_ERRORS } from "../../src/chatflows/errors";

// Kept as literals because these tests pin the contract text (the contracts' own words):
// "User not found".

let t: TestApp;
let admin: SeededUser;
let user: SeededUser;
beforeAll(async () => {
  t = await makeApp();
  admin = await seedUser(t, { role: "admin" });
  user = await seedUser(t);
}, 30_000);
afterAll(() => t.close());

const newFlowId = () => crypto.randomUUID();

async function create(body: Record<string, unknown>) {
  return t.request("POST", "/api/admin/chatflows", { token: admin.accessToken, body });
}

describe("POST /api/admin/chatflows", () => {
  test("creates with default cost 1 and enabled", async () => {
    const id = newFlowId();
    const res = await create({ id, name: "Support bot" });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toMatchObject({ id, name: "Support bot", cost: 1, enabled: true, synced_at: null, user_count: 0 });
    expect(Date.parse(body.created_at)).not.toBeNaN();
  });

  test("takes cost and enabled; cost 0 is a free chatflow", async () => {
    const res = await create({ id: newFlowId(), name: "Free", cost: 0, enabled: false });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ cost: 0, enabled: false });
  });

  test("a duplicate id → 409", async () => {
    const id = newFlowId();
    await create({ id, name: "One" });
    const res = await create({ id, name: "Two" });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ message: CHATFLOW_ERRORS.CHATFLOW_EXISTS.message, status: 409 });
  });

  test("invalid bodies → 400 naming the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ id: "not-a-uuid", name: "x" }, "id: must be the Flowise chatflow id (a UUID)"],
      [{ id: newFlowId(), name: "" }, "name: must be 1 to 200 characters"],
      [{ id: newFlowId(), name: "x", cost: -1 }, "cost: must be a whole number from 0 to 1000000"],
      [{ id: newFlowId(), name: "x", cost: 1.5 }, "cost: must be a whole number from 0 to 1000000"],
      [{ id: newFlowId(), name: "x", enabled: "yes" }, "enabled: must be true or false"],
    ];
    for (const [body, message] of cases) {
      const res = await create(body);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ message, status: 400 });
    }
  });

  test("admin only", async () => {
    await expectAdminOnly(t, "POST", "/api/admin/chatflows", user.accessToken, { id: newFlowId(), name: "x" });
  });
});

describe("GET /api/admin/chatflows", () => {
  test("paginates and counts granted users", async () => {
    const local = await makeApp();
    try {
      const a = await seedUser(local, { role: "admin" });
      const u1 = await seedUser(local);
      const u2 = await seedUser(local);
      const ids = [newFlowId(), newFlowId(), newFlowId()];
      for (const [i, id] of ids.entries()) {
        expect((await local.request("POST", "/api/admin/chatflows", { token: a.accessToken, body: { id, name: `Flow ${i}` } })).status).toBe(201);
      }
      for (const u of [u1, u2]) await local.request("PUT", `/api/admin/chatflows/${ids[0]}/users/${u.user.id}`, { token: a.accessToken });
      const all = await (await local.request("GET", "/api/admin/chatflows", { token: a.accessToken })).json();
      expect(all.count).toBe(3);
      expect(all.limit).toBe(50);
      expect(all.offset).toBe(0);
      expect(all.chatflows.map((c: { name: string; user_count: number }) => [c.name, c.user_count])).toEqual([
        ["Flow 0", 2],
        ["Flow 1", 0],
        ["Flow 2", 0],
      ]);
      const page = await (await local.request("GET", "/api/admin/chatflows?limit=1&offset=1", { token: a.accessToken })).json();
      expect(page).toMatchObject({ count: 3, limit: 1, offset: 1 });
      expect(page.chatflows.map((c: { name: string }) => c.name)).toEqual(["Flow 1"]);
      const bad = await local.request("GET", "/api/admin/chatflows?limit=0", { token: a.accessToken });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({ message: "limit: must be a whole number from 1 to 200", status: 400 });
    } finally {
      await local.close();
    }
  });

  test("admin only", async () => {
    await expectAdminOnly(t, "GET", "/api/admin/chatflows", user.accessToken);
  });
});

describe("PATCH and DELETE /api/admin/chatflows/{id}", () => {
  test("PATCH changes only the given fields", async () => {
    const id = newFlowId();
    await create({ id, name: "Before", cost: 4 });
    const res = await t.request("PATCH", `/api/admin/chatflows/${id}`, { token: admin.accessToken, body: { enabled: false } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id, name: "Before", cost: 4, enabled: false });
    const renamed = await (await t.request("PATCH", `/api/admin/chatflows/${id}`, { token: admin.accessToken, body: { name: "After", cost: 2 } })).json();
    expect(renamed).toMatchObject({ name: "After", cost: 2, enabled: false });
  });

  test("PATCH unknown → 404, bad body → 400", async () => {
    const missing = await t.request("PATCH", `/api/admin/chatflows/${newFlowId()}`, { token: admin.accessToken, body: { cost: 1 } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: CHATFLOW_ERRORS.CHATFLOW_NOT_FOUND.message, status: 404 });
    const id = newFlowId();
    await create({ id, name: "x" });
    const bad = await t.request("PATCH", `/api/admin/chatflows/${id}`, { token: admin.accessToken, body: { cost: "many" } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ message: "cost: must be a whole number from 0 to 1000000", status: 400 });
  });

  test("DELETE removes it and its grants; again → 404", async () => {
    const id = newFlowId();
    await create({ id, name: "Doomed" });
    await t.request("PUT", `/api/admin/chatflows/${id}/users/${user.user.id}`, { token: admin.accessToken });
    const res = await t.request("DELETE", `/api/admin/chatflows/${id}`, { token: admin.accessToken });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id, deleted: true });
    const listed = await (await t.request("GET", "/api/v1/chat/chatflows", { token: user.accessToken })).json();
    expect(listed.chatflows.map((c: { id: string }) => c.id)).not.toContain(id);
    const again = await t.request("DELETE", `/api/admin/chatflows/${id}`, { token: admin.accessToken });
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({ message: CHATFLOW_ERRORS.CHATFLOW_NOT_FOUND.message, status: 404 });
  });

  test("admin only", async () => {
    const id = newFlowId();
    await expectAdminOnly(t, "PATCH", `/api/admin/chatflows/${id}`, user.accessToken, { cost: 1 });
    await expectAdminOnly(t, "DELETE", `/api/admin/chatflows/${id}`, user.accessToken);
  });
});

describe("grants and GET /api/v1/chat/chatflows", () => {
  test("grant is idempotent (201 then 200), withdraw removes access", async () => {
    const u = await seedUser(t);
    const id = newFlowId();
    await create({ id, name: "Granted", cost: 3 });
    const path = `/api/admin/chatflows/${id}/users/${u.user.id}`;
    const first = await t.request("PUT", path, { token: admin.accessToken });
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({ chatflow_id: id, user_id: u.user.id, granted: true });
    const second = await t.request("PUT", path, { token: admin.accessToken });
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual({ chatflow_id: id, user_id: u.user.id, granted: true });
    const mine = await t.request("GET", "/api/v1/chat/chatflows", { token: u.accessToken });
    expect(mine.status).toBe(200);
    expect(await mine.json()).toEqual({ chatflows: [{ id, name: "Granted", cost: 3 }], count: 1 });
    const withdrawn = await t.request("DELETE", path, { token: admin.accessToken });
    expect(withdrawn.status).toBe(200);
    expect(await withdrawn.json()).toEqual({ chatflow_id: id, user_id: u.user.id, granted: false });
    expect((await t.request("DELETE", path, { token: admin.accessToken })).status).toBe(200);
    expect(await (await t.request("GET", "/api/v1/chat/chatflows", { token: u.accessToken })).json()).toEqual({ chatflows: [], count: 0 });
  });

  test("unknown chatflow or user → 404", async () => {
    const id = newFlowId();
    await create({ id, name: "x" });
    for (const method of ["PUT", "DELETE"]) {
      const noFlow = await t.request(method, `/api/admin/chatflows/${newFlowId()}/users/${user.user.id}`, { token: admin.accessToken });
      expect(noFlow.status).toBe(404);
      expect(await noFlow.json()).toEqual({ message: CHATFLOW_ERRORS.CHATFLOW_NOT_FOUND.message, status: 404 });
      const noUser = await t.request(method, `/api/admin/chatflows/${id}/users/usr_nobody`, { token: admin.accessToken });
      expect(noUser.status).toBe(404);
      expect(await noUser.json()).toEqual({ message: "User not found", status: 404 });
    }
  });

  test("a disabled chatflow is not listed, even when granted; admins see every enabled one", async () => {
    const u = await seedUser(t);
    const on = newFlowId();
    const off = newFlowId();
    await create({ id: on, name: "On" });
    await create({ id: off, name: "Off", enabled: false });
    for (const id of [on, off]) await t.request("PUT", `/api/admin/chatflows/${id}/users/${u.user.id}`, { token: admin.accessToken });
    const mine = await (await t.request("GET", "/api/v1/chat/chatflows", { token: u.accessToken })).json();
    expect(mine.chatflows.map((c: { id: string }) => c.id)).toEqual([on]);
    const theirs = await (await t.request("GET", "/api/v1/chat/chatflows", { token: admin.accessToken })).json();
    const ids = theirs.chatflows.map((c: { id: string }) => c.id);
    expect(ids).toContain(on);
    expect(ids).not.toContain(off);
    expect(theirs.count).toBe(ids.length);
  });

  test("auth", async () => {
    await expectAdminOnly(t, "PUT", `/api/admin/chatflows/${newFlowId()}/users/${user.user.id}`, user.accessToken);
    await expectAdminOnly(t, "DELETE", `/api/admin/chatflows/${newFlowId()}/users/${user.user.id}`, user.accessToken);
    await expectAccessOnly(t, "GET", "/api/v1/chat/chatflows");
  });
});
