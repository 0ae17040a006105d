import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { rowsOf } from "../../src/db/client";
import { json, seedUser, type TestApp } from "../helpers";
import { adminApp, startReceiver, subscribe, type Receiver } from "./helpers";

let t: TestApp;
let token: string;
let rx: Receiver;
let hookId: string;

beforeAll(async () => {
  // TRUST_PROXY: in-process requests carry their client address in X-Forwarded-For.
  ({ t, token } = await adminApp({ LOGIN_MAX_FAILURES: "2", LOGIN_ACCOUNT_MAX_FAILURES: "2", TRUST_PROXY: "true" }));
  rx = startReceiver();
  hookId = (await subscribe(t, token, rx, ["*"])).id;
});
afterAll(async () => {
  rx.stop();
  await t.close();
});

/** Events queued for the test webhook so far (rows are written in the change's transaction: no waiting). */
async function queued(type?: string) {
  const rows = rowsOf<{ event_type: string; payload: string }>(
    await t.ctx.db.execute(sql`select event_type, payload from webhook_deliveries where webhook_id = ${hookId} order by created_at, id`),
  );
  return rows.filter((r) => !type || r.event_type === type).map((r) => JSON.parse(r.payload) as { id: string; type: string; data: Record<string, unknown> });
}

const grant = (userId: string, amount: number) => t.request("POST", `/api/admin/users/${userId}/credits`, { token, body: { amount, reason: "test" } });

describe("events", () => {
  test("credits.low fires once per crossing below the threshold and re-arms above it", async () => {
    const u = (await seedUser(t)).user;
    expect((await grant(u.id, 100)).status).toBe(200);
    const patched = await t.request("PATCH", `/api/auth/users/${u.id}`, { token, body: { low_credit_threshold: 50 } });
    expect(patched.status).toBe(200);
    expect((await json(patched)).low_credit_threshold).toBe(50);
    const lows = async () => (await queued("credits.low")).filter((e) => e.data.user_id === u.id);
    expect(await lows()).toHaveLength(0);
    await grant(u.id, -60); // 40: crossed
    expect((await lows()).map((e) => e.data)).toEqual([{ user_id: u.id, balance: 40, threshold: 50 }]);
    await grant(u.id, -10); // 30: still below, no second event
    expect(await t.ctx.services.webhooks.monitors.scan()).toMatchObject({ lowCredits: 0 });
    expect(await lows()).toHaveLength(1);
    await grant(u.id, 30); // 60: above again, re-armed
    expect(await lows()).toHaveLength(1);
    await grant(u.id, -20); // 40: second crossing
    expect((await lows()).map((e) => e.data.balance)).toEqual([40, 40]);
    // The receiver gets them, verified.
    await rx.until(() => rx.verified.filter((e) => e.type === "credits.low" && e.data.user_id === u.id).length === 2);
  });

  test("a balance lowered outside a transaction (a charge) is caught by the scan, once", async () => {
    const u = (await seedUser(t)).user;
    await grant(u.id, 10);
    await t.request("PATCH", `/api/auth/users/${u.id}`, { token, body: { low_credit_threshold: 5 } });
    await t.ctx.db.execute(sql`update credit_balances set balance = 3 where user_id = ${u.id}`);
    expect((await t.ctx.services.webhooks.monitors.scan()).lowCredits).toBe(1);
    expect((await t.ctx.services.webhooks.monitors.scan()).lowCredits).toBe(0);
    expect((await queued("credits.low")).filter((e) => e.data.user_id === u.id)).toHaveLength(1);
  });

  test("a threshold set above the balance is a crossing", async () => {
    const u = (await seedUser(t)).user;
    await t.request("PATCH", `/api/auth/users/${u.id}`, { token, body: { low_credit_threshold: 1 } });
    expect((await queued("credits.low")).filter((e) => e.data.user_id === u.id).map((e) => e.data)).toEqual([{ user_id: u.id, balance: 0, threshold: 1 }]);
    const bad = await t.request("PATCH", `/api/auth/users/${u.id}`, { token, body: { low_credit_threshold: -1 } });
    expect(bad.status).toBe(422);
  });

  test("api_key.created and api_key.revoked, without the key", async () => {
    const u = (await seedUser(t)).user;
    const made = await json(await t.request("POST", "/api/auth/api-keys", { token, body: { name: "ci", user_id: u.id, level: "read" } }));
    expect((await t.request("DELETE", `/api/auth/api-keys/${made.id}`, { token })).status).toBe(200);
    const evs = (await queued()).filter((e) => e.data.key_id === made.id);
    expect(evs.map((e) => e.type)).toEqual(["api_key.created", "api_key.revoked"]);
    expect(evs[0]!.data).toMatchObject({ key_id: made.id, user_id: u.id, name: "ci", level: "read" });
    expect(JSON.stringify(evs)).not.toContain(made.key);
  });

  test("user.disabled and user.enabled; api_token.issued and api_token.revoked", async () => {
    const u = (await seedUser(t)).user;
    const issued = await t.request("POST", "/api/admin/tokens", { token, body: { userId: u.id } });
    expect(issued.status).toBe(200);
    const { token: apiToken } = await json(issued);
    await t.request("PATCH", `/api/auth/users/${u.id}`, { token, body: { disabled: true } });
    await t.request("PATCH", `/api/auth/users/${u.id}`, { token, body: { disabled: true } });
    await t.request("PATCH", `/api/auth/users/${u.id}`, { token, body: { disabled: false } });
    const evs = (await queued()).filter((e) => e.data.user_id === u.id);
    // Disabling ends the user's API tokens too.
    // One transaction stamps its rows with one now(): order within it is not defined.
    expect(evs.map((e) => e.type).sort()).toEqual(["api_token.issued", "api_token.revoked", "user.disabled", "user.enabled"]);
    expect(JSON.stringify(evs)).not.toContain(apiToken);
  });

  test("api_key.expiring 7 days and 1 day before, api_key.expired after, each once", async () => {
    const u = (await seedUser(t)).user;
    const in5days = new Date(Date.now() + 5 * 86400_000).toISOString();
    const made = await json(await t.request("POST", "/api/auth/api-keys", { token, body: { name: "soon", user_id: u.id, level: "read", expires_at: in5days } }));
    const mine = async () => (await queued()).filter((e) => e.data.key_id === made.id && e.type !== "api_key.created");
    await t.ctx.services.webhooks.monitors.scan();
    await t.ctx.services.webhooks.monitors.scan();
    expect((await mine()).map((e) => [e.type, e.data.days])).toEqual([["api_key.expiring", 7]]);
    await t.ctx.db.execute(sql`update api_keys set expires_at = now() + interval '2 hours' where id = ${made.id}`);
    await t.ctx.services.webhooks.monitors.scan();
    await t.ctx.db.execute(sql`update api_keys set expires_at = now() - interval '1 minute' where id = ${made.id}`);
    await t.ctx.services.webhooks.monitors.scan();
    await t.ctx.services.webhooks.monitors.scan();
    expect((await mine()).map((e) => [e.type, e.data.days ?? null])).toEqual([
      ["api_key.expiring", 7],
      ["api_key.expiring", 1],
      ["api_key.expired", null],
    ]);
  });

  test("login.throttled once per account and window, not per refused attempt", async () => {
    const s = await seedUser(t);
    const login = () =>
      t.request("POST", "/api/v1/chat/authenticate", { body: { username: s.user.email, password: "wrong-password" }, headers: { "x-forwarded-for": "198.51.100.77" } });
    for (let i = 0; i < 2; i++) expect((await login()).status).toBe(401);
    expect((await login()).status).toBe(429);
    expect((await login()).status).toBe(429);
    const evs = (await queued("login.throttled")).filter((e) => e.data.account === s.user.email.toLowerCase());
    expect(evs).toHaveLength(1);
    expect(evs[0]!.data).toMatchObject({ address: "198.51.100.77" });
    expect(JSON.stringify(evs)).not.toContain("wrong-password");
  });

  test("a refused change (duplicate user) announces nothing", async () => {
    const body = { email: "twice@example.test", password: "a-long-password-1" };
    expect((await t.request("POST", "/api/auth/users", { token, body })).status).toBe(201);
    expect((await t.request("POST", "/api/auth/users", { token, body })).status).toBe(409);
    expect((await queued("user.created")).filter((e) => e.data.email === body.email)).toHaveLength(1);
  });

  test("a subscription only gets the types it names", async () => {
    const only = startReceiver();
    try {
      const h = await subscribe(t, token, only, ["user.disabled"]);
      await t.request("POST", "/api/auth/users", { token, body: { email: "quiet@example.test", password: "a-long-password-1" } });
      const rows = rowsOf<{ n: number }>(await t.ctx.db.execute(sql`select count(*)::int as n from webhook_deliveries where webhook_id = ${h.id}`));
      expect(Number(rows[0]!.n)).toBe(0);
    } finally {
      only.stop();
    }
  });
});
