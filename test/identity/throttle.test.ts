import { afterAll, beforeAll, describe, expect, spyOn, test } from "bun:test";
import { sql } from "drizzle-orm";
import { json, makeApp, seedUser, settle, type TestApp } from "../helpers";
import { IDENTITY_ERRORS } from "../../src/identity/errors";

let t: TestApp;
beforeAll(async () => {
  // TRUST_PROXY lets in-process requests carry distinct client addresses.
  t = await makeApp({ LOGIN_MAX_FAILURES: "3", LOGIN_ACCOUNT_MAX_FAILURES: "3", LOGIN_WINDOW: "600", TRUST_PROXY: "true" });
}, 60_000);
afterAll(() => t.close());

let ipSeq = 0;
const newIp = () => `198.51.100.${++ipSeq}`;
const login = (username: string, password: string, ip: string) =>
  t.request("POST", "/api/v1/chat/authenticate", { body: { username, password }, headers: { "x-forwarded-for": `203.0.113.9, ${ip}` } });

describe("login throttling", () => {
  test("past the limit per account: 429 with Retry-After, before the password is even checked", async () => {
    const s = await seedUser(t);
    for (let i = 0; i < 3; i++) expect((await login(s.user.email, "wrong-password", newIp())).status).toBe(401);
    const verify = spyOn(Bun.password, "verify");
    try {
      const res = await login(s.user.email, s.password, newIp());
      expect(res.status).toBe(429);
      expect(await json(res)).toEqual({ detail: IDENTITY_ERRORS.LOGIN_THROTTLED.message });
      const wait = Number(res.headers.get("retry-after"));
      expect(wait).toBeGreaterThan(590);
      expect(wait).toBeLessThanOrEqual(600);
      expect(verify).not.toHaveBeenCalled();
    } finally {
      verify.mockRestore();
    }
    // The username form of the same account shares the counter (and so does any case).
    expect((await login(s.user.email.toUpperCase(), s.password, newIp())).status).toBe(429);
    await settle();
    expect(await (await t.request("GET", "/metrics")).text()).toMatch(/chatgate_logins_total\{result="throttled"\} [1-9]/);
  });

  test("past the limit per address: other accounts from that address are throttled too", async () => {
    const ip = newIp();
    for (let i = 0; i < 3; i++) await login(`ghost${i}@example.test`, "wrong-password", ip);
    const s = await seedUser(t);
    expect((await login(s.user.email, s.password, ip)).status).toBe(429);
    expect((await login(s.user.email, s.password, newIp())).status).toBe(200);
  });

  test("a success clears its (account, address) counter but not the account's, and remembers the address", async () => {
    const s = await seedUser(t);
    const ip = newIp();
    for (let i = 0; i < 2; i++) await login(s.user.email, "wrong-password", ip);
    expect((await login(s.user.email, s.password, ip)).status).toBe(200);
    const rows = await t.ctx.db.execute(sql`select key, count from login_failures where key like ${`%${s.user.email}%`} order by key`);
    const list = (Array.isArray(rows) ? rows : (rows as { rows: { key: string; count: number }[] }).rows).map((r) => [r.key, Number(r.count)]);
    expect(list).toEqual([
      [`acct:${s.user.email}`, 2],
      [`good:${s.user.email}|${ip}`, 0],
    ]);
  });

  test("an expired window starts over", async () => {
    const s = await seedUser(t);
    for (let i = 0; i < 3; i++) await login(s.user.email, "wrong-password", newIp());
    expect((await login(s.user.email, s.password, newIp())).status).toBe(429);
    await t.ctx.db.execute(sql`update login_failures set window_start = now() - interval '601 seconds' where key = ${`acct:${s.user.email}`}`);
    expect((await login(s.user.email, "wrong-password", newIp())).status).toBe(401);
    expect((await login(s.user.email, s.password, newIp())).status).toBe(200);
  });

  test("/api/auth/token shares the counters", async () => {
    const s = await seedUser(t);
    for (let i = 0; i < 3; i++) await login(s.user.email, "wrong-password", newIp());
    const res = await t.request("POST", "/api/auth/token", { body: { username: s.user.email, password: s.password } });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
  });

  test("concurrent failures are all counted (one upsert each)", async () => {
    const s = await seedUser(t);
    await Promise.all(Array.from({ length: 6 }, () => login(s.user.email, "wrong-password", newIp())));
    const rows = await t.ctx.db.execute(sql`select count from login_failures where key = ${`acct:${s.user.email}`}`);
    const count = (Array.isArray(rows) ? rows : (rows as { rows: { count: number }[] }).rows)[0]!.count;
    expect(Number(count)).toBe(6);
  });
});

describe("client address", () => {
  test("without TRUST_PROXY, X-Forwarded-For is ignored: the socket address is counted", async () => {
    const t2 = await makeApp({ LOGIN_MAX_FAILURES: "2" });
    const server = t2.app.listen({ port: 0, hostname: "127.0.0.1" });
    try {
      const base = `http://127.0.0.1:${t2.app.server!.port}`;
      const post = (username: string, password: string, xff: string) =>
        fetch(`${base}/api/v1/chat/authenticate`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-forwarded-for": xff },
          body: JSON.stringify({ username, password }),
        });
      await post("a@example.test", "wrong-password", "192.0.2.1");
      await post("b@example.test", "wrong-password", "192.0.2.2");
      const s = await seedUser(t2);
      // Spoofed header differs each time, yet the loopback address is past its limit.
      expect((await post(s.user.email, s.password, "192.0.2.3")).status).toBe(429);
      const rows = await t2.ctx.db.execute(sql`select key from login_failures where key like 'ip:%'`);
      const keys = (Array.isArray(rows) ? rows : (rows as { rows: { key: string }[] }).rows).map((r) => r.key);
      expect(keys).toEqual(["ip:127.0.0.1"]);
    } finally {
      await server.stop();
      await t2.close();
    }
  });
});

describe("sweeper", () => {
  test("deletes expired failure windows and long-expired refresh tokens, keeps live ones", async () => {
    const { sweepIdentity } = await import("../../src/identity/feature");
    const s = await seedUser(t);
    await login(s.user.email, "wrong-password", newIp());
    await t.ctx.db.execute(sql`insert into login_failures (key, window_start, count) values ('acct:old@example.test', now() - interval '2 hours', 5)`);
    // Known addresses outlive the failure window: kept for 30 days, then dropped.
    await t.ctx.db.execute(sql`insert into login_failures (key, window_start, count) values ('good:kept@example.test|192.0.2.1', now() - interval '2 hours', 0)`);
    await t.ctx.db.execute(sql`insert into login_failures (key, window_start, count) values ('good:gone@example.test|192.0.2.1', now() - interval '31 days', 0)`);
    await t.ctx.db.execute(sql`update refresh_tokens set expires_at = now() - interval '2 days' where user_id = ${s.user.id}`);
    await sweepIdentity(t.ctx);
    const keys = await t.ctx.db.execute(sql`select key from login_failures`);
    const list = (Array.isArray(keys) ? keys : (keys as { rows: { key: string }[] }).rows).map((r) => r.key);
    expect(list).toContain(`acct:${s.user.email}`);
    expect(list).not.toContain("acct:old@example.test");
    expect(list).toContain("good:kept@example.test|192.0.2.1");
    expect(list).not.toContain("good:gone@example.test|192.0.2.1");
    const rts = await t.ctx.db.execute(sql`select id from refresh_tokens where user_id = ${s.user.id}`);
    expect(Array.isArray(rts) ? rts.length : (rts as { rows: unknown[] }).rows.length).toBe(0);
  });
});
