// Postgres lost while requests run, through a TCP proxy the test controls (the machine's Postgres
// is never stopped): requests fail fast with 503 + Retry-After, /readyz turns 503, and the same
// app serves again once the path is back. Transactions cut between two statements leave nothing
// half-written. Runs only with TEST_DATABASE_URL.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { creditBalances, creditLedger, creditReservations, refreshTokens } from "../../src/db/schema";
import { grantChatflow, seedFlow } from "./fixtures";
import { startFlowiseDouble, type FlowiseDouble } from "../doubles/flowise";
import { makeApp, seedUser, testDatabaseUrl, type SeededUser, type TestApp } from "../helpers";
import { decode } from "../security/jwt-craft";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy";

const url = testDatabaseUrl();
const BOUND_MS = 20_000;
// A query may wait for a connection (acquire, 5 s) and then sit on one that has gone silent
// (statement_timeout + 2 s = 17 s) before it is failed.
const SILENT_POOL_BOUND_MS = 25_000;
const FLOWISE_KEY = "flowise-key-faults";

let proxy: TcpProxy;
let flowise: FlowiseDouble;
let t: TestApp;
let admin: SeededUser;
let user: SeededUser;
let flow: string;

interface Timed {
  name: string;
  status: number;
  retryAfter: string | null;
  ms: number;
}

async function timed(name: string, run: () => Promise<Response>): Promise<Timed> {
  const started = performance.now();
  const res = await run();
  await res.arrayBuffer();
  return { name, status: res.status, retryAfter: res.headers.get("retry-after"), ms: Math.round(performance.now() - started) };
}

/** Requests that each need the database on the way. */
function databaseRequests(): Promise<Timed>[] {
  return [
    timed("login", () => t.request("POST", "/api/v1/chat/authenticate", { body: { username: user.user.email, password: user.password } })),
    timed("list users", () => t.request("GET", "/api/auth/users", { token: admin.accessToken })),
    timed("credits", () => t.request("GET", "/api/v1/chat/credits", { token: user.accessToken })),
    timed("refresh", () => t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token: user.refreshToken } })),
    timed("predict", () => t.request("POST", "/api/v1/chat/predict", { token: user.accessToken, body: { chatflow_id: flow, question: "up?" } })),
    timed("readyz", () => t.request("GET", "/readyz")),
  ];
}

async function waitReady(): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < BOUND_MS) {
    if ((await t.request("GET", "/readyz")).status === 200) return Date.now() - started;
    await Bun.sleep(200);
  }
  throw new Error("not ready again within the bound");
}

describe.if(Boolean(url))("Postgres lost while requests run", () => {
  beforeAll(async () => {
    const target = new URL(url!);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    flowise = await startFlowiseDouble({ apiKey: FLOWISE_KEY, chatflows: [{ id: "7d1f6a52-7a59-4b55-9d53-3c2a1e0f9b10", name: "faults" }] });
    const proxied = new URL(url!);
    proxied.port = String(proxy.port);
    // makeApp opens its database from TEST_DATABASE_URL: point it at the proxy for this app only.
    process.env.TEST_DATABASE_URL = proxied.toString();
    try {
      t = await makeApp({ FLOWISE_URL: flowise.url, FLOWISE_API_KEY: FLOWISE_KEY });
    } finally {
      process.env.TEST_DATABASE_URL = url;
    }
    admin = await seedUser(t, { role: "admin" });
    user = await seedUser(t, { role: "user" });
    flow = await seedFlow(t, "7d1f6a52-7a59-4b55-9d53-3c2a1e0f9b10", admin);
    await grantChatflow(t, admin, flow, user.user.id, 5);
  }, 60_000);

  afterAll(async () => {
    await proxy?.setMode("open");
    await t?.close();
    await proxy?.stop();
    await flowise?.stop();
  }, 30_000);

  test("connections reset and refused: every database request is a fast 503 with Retry-After; back without a restart", async () => {
    expect((await t.request("GET", "/readyz")).status).toBe(200);
    await proxy.setMode("reset");
    const results = await Promise.all(databaseRequests());
    for (const r of results) {
      expect({ name: r.name, status: r.status, retryAfter: Boolean(r.retryAfter) }).toEqual({ name: r.name, status: 503, retryAfter: true });
      expect(r.ms).toBeLessThan(BOUND_MS);
    }
    console.log(`reset: ${results.map((r) => `${r.name} ${r.status} in ${r.ms} ms`).join(", ")}`);
    expect(flowise.calls.prediction).toBe(0);
    await proxy.setMode("open");
    console.log(`reset: ready again ${await waitReady()} ms after the proxy reopened`);
    const login = await t.request("POST", "/api/v1/chat/authenticate", { body: { username: user.user.email, password: user.password } });
    expect(login.status).toBe(200);
    expect((await t.request("GET", "/api/v1/chat/credits", { token: user.accessToken })).status).toBe(200);
  }, 60_000);

  test("a silent network (nothing answers, nothing closes): requests still end, 503, within the bound", async () => {
    await proxy.setMode("blackhole");
    const results = await Promise.all(databaseRequests());
    console.log(`blackhole: ${results.map((r) => `${r.name} ${r.status} in ${r.ms} ms`).join(", ")}`);
    for (const r of results) {
      expect(r.ms).toBeLessThan(BOUND_MS);
      expect({ name: r.name, status: r.status, retryAfter: Boolean(r.retryAfter) }).toEqual({ name: r.name, status: 503, retryAfter: true });
    }
    await proxy.setMode("open");
    await waitReady();
    expect((await t.request("GET", "/api/v1/chat/credits", { token: user.accessToken })).status).toBe(200);
  }, 90_000);

  test("pooled connections going silent mid-use (no FIN, no RST): requests still end, 503, within the bound", async () => {
    await waitReady();
    // Open several pooled connections, so the next requests land on ones that then go silent.
    await Promise.all(Array.from({ length: 8 }, () => t.request("GET", "/api/v1/chat/credits", { token: user.accessToken })));
    await proxy.setMode("blackhole");
    // More requests than the pool has connections: the queued ones must not wait past the bound.
    const extra = Array.from({ length: 24 }, (_, i) => timed(`credits ${i}`, () => t.request("GET", "/api/v1/chat/credits", { token: user.accessToken })));
    const results = await Promise.all([...databaseRequests().filter((_, i) => i !== 5), ...extra]);
    console.log(`silent pool: ${results.map((r) => `${r.name} ${r.status} in ${r.ms} ms`).join(", ")}`);
    for (const r of results) {
      expect(r.ms).toBeLessThan(SILENT_POOL_BOUND_MS);
      expect({ name: r.name, status: r.status, retryAfter: Boolean(r.retryAfter) }).toEqual({ name: r.name, status: 503, retryAfter: true });
    }
    await proxy.setMode("open");
    await waitReady();
    expect((await t.request("GET", "/api/v1/chat/credits", { token: user.accessToken })).status).toBe(200);
  }, 90_000);

  test("a refresh rotation cut between its UPDATE and its INSERT: nothing half-written, the old token still rotates once", async () => {
    const s = await seedUser(t, { role: "user" });
    const { jti } = decode(s.refreshToken).payload as { jti: string };
    // The presented token's id is in the claiming UPDATE, then (as parent_id) in the new row's INSERT.
    const cut = proxy.cutOn(jti, 2);
    const res = await timed("refresh", () => t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token: s.refreshToken } }));
    await cut;
    expect(res.status).toBe(503);
    expect(res.ms).toBeLessThan(BOUND_MS);
    await proxy.setMode("open");
    await waitReady();
    const rows = await t.ctx.db.select().from(refreshTokens).where(eq(refreshTokens.userId, s.user.id));
    expect(rows.map((r) => ({ id: r.id, used: r.usedAt !== null, revoked: r.revokedAt !== null }))).toEqual([{ id: jti, used: false, revoked: false }]);
    const again = await t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token: s.refreshToken } });
    expect(again.status).toBe(200);
  }, 60_000);

  test("a credit reservation cut between the balance UPDATE and its INSERT: balance, reservations and ledger unchanged, no upstream call", async () => {
    const u = await seedUser(t, { role: "user" });
    await grantChatflow(t, admin, flow, u.user.id, 3);
    const ledgerBefore = await t.ctx.db.select().from(creditLedger).where(eq(creditLedger.userId, u.user.id));
    const callsBefore = flowise.calls.prediction;
    // Reservation ids are the only "rsv_" text a prediction sends: its INSERT, after the UPDATE.
    const cut = proxy.cutOn("rsv_", 1);
    const res = await timed("predict", () => t.request("POST", "/api/v1/chat/predict", { token: u.accessToken, body: { chatflow_id: flow, question: "cut?" } }));
    await cut;
    expect(res.status).toBe(503);
    expect(res.retryAfter).toBeTruthy();
    await proxy.setMode("open");
    await waitReady();
    const [balance] = await t.ctx.db.select().from(creditBalances).where(eq(creditBalances.userId, u.user.id));
    expect(balance!.balance).toBe(3);
    expect(await t.ctx.db.select().from(creditReservations).where(eq(creditReservations.userId, u.user.id))).toEqual([]);
    expect(await t.ctx.db.select().from(creditLedger).where(eq(creditLedger.userId, u.user.id))).toEqual(ledgerBefore);
    expect(flowise.calls.prediction).toBe(callsBefore);
    // And the same request now goes through, charged once.
    const ok = await t.request("POST", "/api/v1/chat/predict", { token: u.accessToken, body: { chatflow_id: flow, question: "again?" } });
    expect(ok.status).toBe(200);
    const [after] = await t.ctx.db.select().from(creditBalances).where(eq(creditBalances.userId, u.user.id));
    expect(after!.balance).toBe(2);
  }, 60_000);

  test("after an outage, revocations made by another instance still arrive (LISTEN came back)", async () => {
    await proxy.setMode("reset");
    // Long enough for several reconnect attempts to fail (and a growing backoff to grow).
    await Bun.sleep(4000);
    await proxy.setMode("open");
    await waitReady();
    // The LISTEN connection comes back on its reconnect backoff (capped at a second).
    await Bun.sleep(2500);
    const victim = await seedUser(t, { role: "user" });
    expect((await t.request("GET", "/api/v1/chat/credits", { token: victim.accessToken })).status).toBe(200);
    // A second instance on the same schema, straight to Postgres, ends the victim's sessions.
    const other = await makeApp({}, { schema: t.schema });
    try {
      const res = await other.request("POST", "/api/v1/chat/revoke", { token: victim.accessToken, body: { all_tokens: true } });
      expect(res.status).toBe(200);
      const started = Date.now();
      let status = 200;
      // Polling alone (every 5 s) would be too late: this is LISTEN/NOTIFY working again.
      while (Date.now() - started < 5000 && status !== 401) {
        status = (await t.request("GET", "/api/v1/chat/credits", { token: victim.accessToken })).status;
        if (status !== 401) await Bun.sleep(100);
      }
      console.log(`revocation seen after the outage in ${Date.now() - started} ms`);
      expect(status).toBe(401);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await other.close();
    }
  }, 60_000);
});
