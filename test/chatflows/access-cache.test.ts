import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CHATFLOW_ERRORS } from "../../src/chatflows/errors";
import { makeApp, seedUser, testDatabaseUrl, type SeededUser, type TestApp } from "../helpers";

// Access answers are cached per instance; every admin change must end them at once here and
// within a second on another instance sharing the database.
let t: TestApp;
let admin: SeededUser;
let user: SeededUser;

beforeAll(async () => {
  t = await makeApp();
  admin = await seedUser(t, { role: "admin" });
  user = await seedUser(t);
}, 60_000);
afterAll(() => t.close());

async function newGrantedChatflow(): Promise<string> {
  const id = crypto.randomUUID();
  expect((await t.request("POST", "/api/admin/chatflows", { token: admin.accessToken, body: { id, name: "cached" } })).status).toBe(201);
  expect((await t.request("PUT", `/api/admin/chatflows/${id}/users/${user.user.id}`, { token: admin.accessToken })).status).toBe(201);
  return id;
}

const who = () => ({ id: user.user.id, role: "user" as const });

describe("chatflow access cache", () => {
  test("withdrawing a grant ends cached access at once", async () => {
    const id = await newGrantedChatflow();
    expect((await t.ctx.services.chatflows.access.forUser(who(), id)).ok).toBe(true);
    expect((await t.ctx.services.chatflows.access.forUser(who(), id)).ok).toBe(true);
    await t.request("DELETE", `/api/admin/chatflows/${id}/users/${user.user.id}`, { token: admin.accessToken });
    expect(await t.ctx.services.chatflows.access.forUser(who(), id)).toMatchObject({ ok: false, error: CHATFLOW_ERRORS.NO_ACCESS });
  });

  test("disabling, re-pricing and deleting are seen at once", async () => {
    const id = await newGrantedChatflow();
    expect((await t.ctx.services.chatflows.access.forUser(who(), id)).ok).toBe(true);
    await t.request("PATCH", `/api/admin/chatflows/${id}`, { token: admin.accessToken, body: { cost: 7 } });
    const repriced = await t.ctx.services.chatflows.access.forUser(who(), id);
    expect(repriced.ok && repriced.chatflow.cost).toBe(7);
    await t.request("PATCH", `/api/admin/chatflows/${id}`, { token: admin.accessToken, body: { enabled: false } });
    expect(await t.ctx.services.chatflows.access.forUser(who(), id)).toMatchObject({ ok: false, error: CHATFLOW_ERRORS.CHATFLOW_DISABLED });
    await t.request("DELETE", `/api/admin/chatflows/${id}`, { token: admin.accessToken });
    expect(await t.ctx.services.chatflows.access.forUser(who(), id)).toMatchObject({ ok: false, error: CHATFLOW_ERRORS.CHATFLOW_NOT_FOUND });
  });

  test("a chatflow created after an unknown-id answer was cached becomes usable", async () => {
    const id = crypto.randomUUID();
    expect(await t.ctx.services.chatflows.access.forUser(who(), id)).toMatchObject({ ok: false, error: CHATFLOW_ERRORS.CHATFLOW_NOT_FOUND });
    await t.request("POST", "/api/admin/chatflows", { token: admin.accessToken, body: { id, name: "late" } });
    await t.request("PUT", `/api/admin/chatflows/${id}/users/${user.user.id}`, { token: admin.accessToken });
    expect((await t.ctx.services.chatflows.access.forUser(who(), id)).ok).toBe(true);
  });

  test.if(!!testDatabaseUrl())(
    "another instance drops its cached answer within a second",
    async () => {
      const b = await makeApp({}, { schema: t.schema });
      try {
        const id = await newGrantedChatflow();
        expect((await b.ctx.services.chatflows.access.forUser(who(), id)).ok).toBe(true);
        await t.request("DELETE", `/api/admin/chatflows/${id}/users/${user.user.id}`, { token: admin.accessToken });
        const deadline = Date.now() + 1000;
        let seen = (await b.ctx.services.chatflows.access.forUser(who(), id)).ok;
        while (seen && Date.now() < deadline) {
          await Bun.sleep(25);
          seen = (await b.ctx.services.chatflows.access.forUser(who(), id)).ok;
        }
        expect(seen).toBe(false);
      } finally {
        await b.close();
      }
    },
    30_000,
  );
});
