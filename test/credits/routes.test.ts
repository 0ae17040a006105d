import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { expectAccessOnly, expectAdminOnly } from "../chatflows/helpers";
import { CREDIT_ERRORS } from "../../src/credits/errors";

// Kept as literals because these tests pin the contract text (the contracts' own words):
// "User not found".

let t: TestApp;
let admin: SeededUser;
beforeAll(async () => {
  t = await makeApp();
  admin = await seedUser(t, { role: "admin" });
}, 30_000);
afterAll(() => t.close());

const grant = (userId: string, body: unknown) => t.request("POST", `/api/admin/users/${userId}/credits`, { token: admin.accessToken, body });

describe("GET /api/v1/chat/credits", () => {
  test("a new user has 0, last updated at creation", async () => {
    const u = await seedUser(t);
    const res = await t.request("GET", "/api/v1/chat/credits", { token: u.accessToken });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ user_id: u.user.id, credits_remaining: 0, last_updated: u.user.createdAt.toISOString() });
  });

  test("shows grants and charges", async () => {
    const u = await seedUser(t);
    await grant(u.user.id, { amount: 10, reason: "welcome" });
    await t.ctx.services.credits.credits.reserve({ userId: u.user.id, amount: 3, chatflowId: crypto.randomUUID(), ttlSec: 600 });
    const body = await (await t.request("GET", "/api/v1/chat/credits", { token: u.accessToken })).json();
    expect(body).toMatchObject({ user_id: u.user.id, credits_remaining: 7 });
    expect(Date.parse(body.last_updated)).toBeGreaterThanOrEqual(u.user.createdAt.getTime());
  });

  test("needs an access token", async () => {
    await expectAccessOnly(t, "GET", "/api/v1/chat/credits");
  });
});

describe("POST /api/admin/users/{id}/credits", () => {
  test("adds credits and answers the new balance", async () => {
    const u = await seedUser(t);
    const res = await grant(u.user.id, { amount: 25, reason: "purchase #1" });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ user_id: u.user.id, credits_remaining: 25 });
    const more = await (await grant(u.user.id, { amount: 5, reason: "bonus" })).json();
    expect(more.credits_remaining).toBe(30);
  });

  test("a negative correction works down to zero, not below (409)", async () => {
    const u = await seedUser(t);
    await grant(u.user.id, { amount: 4, reason: "start" });
    expect((await (await grant(u.user.id, { amount: -4, reason: "refund to card" })).json()).credits_remaining).toBe(0);
    const res = await grant(u.user.id, { amount: -1, reason: "too far" });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ message: CREDIT_ERRORS.BELOW_ZERO.message, status: 409 });
  });

  test("unknown user → 404", async () => {
    const res = await grant("usr_nobody", { amount: 1, reason: "x" });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ message: "User not found", status: 404 });
  });

  test("invalid bodies → 400", async () => {
    const u = await seedUser(t);
    const amountMsg = "amount: must be a non-zero whole number (negative corrects a balance, never below zero)";
    const cases: [unknown, string][] = [
      [{ amount: 1.5, reason: "x" }, amountMsg],
      [{ amount: "ten", reason: "x" }, amountMsg],
      [{ reason: "x" }, amountMsg],
      [{ amount: 0, reason: "x" }, CREDIT_ERRORS.BAD_AMOUNT.message],
      [{ amount: 1, reason: "" }, "reason: must be 1 to 500 characters"],
      [{ amount: 1 }, "reason: must be 1 to 500 characters"],
    ];
    for (const [body, message] of cases) {
      const res = await grant(u.user.id, body);
      expect({ body, status: res.status, answer: await res.json() }).toEqual({ body, status: 400, answer: { message, status: 400 } });
    }
  });

  test("admin only", async () => {
    const u = await seedUser(t);
    await expectAdminOnly(t, "POST", `/api/admin/users/${u.user.id}/credits`, u.accessToken, { amount: 100, reason: "self-service" });
    expect((await (await t.request("GET", "/api/v1/chat/credits", { token: u.accessToken })).json()).credits_remaining).toBe(0);
  });
});

describe("GET /api/admin/users/{id}/credits/ledger", () => {
  test("every change is a ledger row, newest first, paginated", async () => {
    const u = await seedUser(t);
    await grant(u.user.id, { amount: 10, reason: "first" });
    await grant(u.user.id, { amount: -2, reason: "second" });
    const flow = crypto.randomUUID();
    await t.ctx.services.credits.credits.reserve({ userId: u.user.id, amount: 3, chatflowId: flow, ttlSec: 600 });
    const res = await t.request("GET", `/api/admin/users/${u.user.id}/credits/ledger`, { token: admin.accessToken });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ user_id: u.user.id, count: 3, limit: 50, offset: 0 });
    expect(body.entries.map((e: { kind: string; delta: number; reason: string }) => [e.kind, e.delta, e.reason])).toEqual([
      ["charge", -3, `prediction:${flow}`],
      ["grant", -2, "second"],
      ["grant", 10, "first"],
    ]);
    expect(body.entries[1].created_by).toBe(admin.user.id);
    expect(body.entries[0].reservation_id).toMatch(/^rsv_/);
    const page = await (await t.request("GET", `/api/admin/users/${u.user.id}/credits/ledger?limit=1&offset=2`, { token: admin.accessToken })).json();
    expect(page.count).toBe(3);
    expect(page.entries.map((e: { reason: string }) => e.reason)).toEqual(["first"]);
  });

  test("unknown user → 404; bad paging → 400; admin only", async () => {
    const missing = await t.request("GET", "/api/admin/users/usr_nobody/credits/ledger", { token: admin.accessToken });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: "User not found", status: 404 });
    const u = await seedUser(t);
    const bad = await t.request("GET", `/api/admin/users/${u.user.id}/credits/ledger?offset=-1`, { token: admin.accessToken });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ message: "offset: must be a whole number from 0 to 2147483647", status: 400 });
    await expectAdminOnly(t, "GET", `/api/admin/users/${u.user.id}/credits/ledger`, u.accessToken);
  });
});
