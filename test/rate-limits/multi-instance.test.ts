import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { rowsOf } from "../../src/db/client";
import { QuotaLedger } from "../../src/rate-limits/ledger";
import { makeApp, type TestApp } from "../helpers";
import { createKey } from "../keys/helpers";

// Two instances on one Postgres schema share every quota through rate_limit_windows.
const pg = !!process.env.TEST_DATABASE_URL;

let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  if (!pg) return;
  a = await makeApp();
  b = await makeApp({}, { schema: a.schema });
}, 60_000);
afterAll(async () => {
  if (!pg) return;
  await b.close();
  await a.close();
});

describe("a quota shared by two instances", () => {
  test.if(pg)("a key limited to 100/min, 300 requests over both: 100 to 110 succeed, the rest 429 with Retry-After and the fields", async () => {
    const k = await createKey(a, { body: { rate_limit: { limit: 100, window_s: 60 } } });
    const results: Response[] = [];
    // 15 rounds of 20 concurrent requests, alternating instances within each round.
    for (let round = 0; round < 15; round++) {
      const batch = [...Array(20)].map((_, i) => (i % 2 ? a : b).request("GET", "/api/auth/validate", { headers: { "x-api-key": k.key } }));
      results.push(...(await Promise.all(batch)));
    }
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(ok.length).toBeGreaterThanOrEqual(100);
    expect(ok.length).toBeLessThanOrEqual(110);
    expect(ok.length + refused.length).toBe(300);
    for (const r of refused) {
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(r.headers.get("ratelimit-policy")).toBe('"key";q=100;w=60');
      expect(r.headers.get("ratelimit")).toMatch(/^"key";r=0;t=\d+$/);
    }
    for (const r of ok) expect(r.headers.get("ratelimit")).toMatch(/^"key";r=\d+;t=\d+$/);
    // Both instances admitted some: the quota was leased in slices, not taken whole by one.
    const [row] = rowsOf<{ granted: number }>(await a.ctx.db.execute(sql`select granted from rate_limit_windows where policy_key = ${`key:${k.id}`}`));
    expect(row!.granted).toBe(100);
  });

  test.if(pg)("a new window starts on the database's clock once the old one ended; unspent units go back at shutdown", async () => {
    const key = `test:${crypto.randomUUID()}`;
    const quota = { limit: 10, windowS: 60 };
    const one = new QuotaLedger(a.ctx.db);
    for (let i = 0; i < 10; i++) expect((await one.take(key, quota, 1)).ok).toBe(true);
    expect((await one.take(key, quota, 1)).ok).toBe(false);
    const two = new QuotaLedger(b.ctx.db);
    expect((await two.take(key, quota, 1)).ok).toBe(false);
    // The window ends (moved back rather than waited for); an instance that knows it is spent
    // does not ask again until its own estimate of the end, a fresh one starts the next window.
    await a.ctx.db.execute(sql`update rate_limit_windows set window_start_ms = window_start_ms - 61000 where policy_key = ${key}`);
    expect((await two.take(key, quota, 1)).ok).toBe(false);
    const three = new QuotaLedger(b.ctx.db);
    const fresh = await three.take(key, quota, 1);
    expect(fresh).toMatchObject({ ok: true });
    const granted = async () => rowsOf<{ granted: number }>(await a.ctx.db.execute(sql`select granted from rate_limit_windows where policy_key = ${key}`))[0]!.granted;
    expect(await granted()).toBe(1);
    // Leases grow while they go fast; whatever is leased and unspent is returned.
    for (let i = 0; i < 4; i++) await three.take(key, quota, 1);
    const before = await granted();
    expect(before).toBeGreaterThanOrEqual(5);
    await three.returnUnspent();
    expect(await granted()).toBe(5);
  });
});
