import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { rowsOf } from "../../src/db/client";
import type { EventSink } from "../../src/kernel/events";
import { ExceededNotices } from "../../src/rate-limits/exceeded";
import { policyOf } from "../../src/rate-limits/headers";
import { makeApp, type TestApp } from "../helpers";
import { adminOf, countingDb, createKey } from "../keys/helpers";
import { adminApp, startReceiver, subscribe, WEBHOOK_ENV, type Receiver } from "./helpers";

// ratelimit.exceeded: once per policy and window, not per 429, delivered like every event.
let t: TestApp;
let token: string;
let rx: Receiver;

beforeAll(async () => {
  ({ t, token } = await adminApp());
  rx = startReceiver();
  await subscribe(t, token, rx, ["ratelimit.*"]);
});
afterAll(async () => {
  rx.stop();
  await t.close();
});

const validate = (app: TestApp, key: string) => app.request("GET", "/api/auth/validate", { headers: { "x-api-key": key } });

/** The exceeded events the receiver verified for one subject. */
const exceeded = (r: Receiver, subject: string) => r.verified.filter((e) => e.type === "ratelimit.exceeded" && e.data.subject === subject);

describe("ratelimit.exceeded", () => {
  test("one event per window however many 429s; the next window that is exceeded has its own", async () => {
    const k = await createKey(t, { body: { rate_limit: { limit: 2, window_s: 60 } } });
    for (let i = 0; i < 2; i++) expect((await validate(t, k.key)).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await validate(t, k.key)).status).toBe(429);
    await t.ctx.services.rateLimits.notices.flush();
    await rx.until(() => exceeded(rx, k.id).length === 1);
    const [first] = exceeded(rx, k.id);
    expect(first!.data).toEqual({
      policy: "key",
      subject: k.id,
      user_id: k.owner.user.id,
      limit: 2,
      window_s: 60,
      window_started_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      retry_after_s: expect.any(Number),
    });
    expect(first!.data.retry_after_s as number).toBeGreaterThanOrEqual(1);
    expect(first!.data.retry_after_s as number).toBeLessThanOrEqual(60);
    expect(JSON.stringify(first)).not.toContain(k.key);
    // The window ends (moved back rather than waited for): a fresh one, exceeded again, is announced again.
    await t.ctx.db.execute(sql`update rate_limit_windows set window_start_ms = window_start_ms - 61000 where policy_key = ${`key:${k.id}`}`);
    // This instance still believes in its old window until its own estimate of the end: forget it.
    await t.ctx.services.rateLimits.ledger.returnUnspent();
    for (let i = 0; i < 2; i++) expect((await validate(t, k.key)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await validate(t, k.key)).status).toBe(429);
    await t.ctx.services.rateLimits.notices.flush();
    await rx.until(() => exceeded(rx, k.id).length === 2);
    const starts = exceeded(rx, k.id).map((e) => e.data.window_started_at);
    expect(new Set(starts).size).toBe(2);
    // Nothing else was queued for this key: one delivery per window.
    const rows = rowsOf<{ n: number }>(
      await t.ctx.db.execute(sql`select count(*)::int as n from webhook_deliveries where event_type = 'ratelimit.exceeded' and payload::jsonb -> 'data' ->> 'subject' = ${k.id}`),
    );
    expect(rows[0]!.n).toBe(2);
  });

  test("a user's policy names the user", async () => {
    const k = await createKey(t);
    const patched = await t.request("PATCH", `/api/auth/users/${k.owner.user.id}`, { token, body: { rate_limit: { limit: 1, window_s: 30 } } });
    expect(patched.status).toBe(200);
    expect((await validate(t, k.key)).status).toBe(200);
    expect((await validate(t, k.key)).status).toBe(429);
    await rx.until(() => exceeded(rx, k.owner.user.id).length === 1);
    expect(exceeded(rx, k.owner.user.id)[0]!.data).toMatchObject({ policy: "user", subject: k.owner.user.id, limit: 1, window_s: 30 });
  });

  test("repeated refusals in one window cost no statement after the first (no database write per 429)", async () => {
    const counted = countingDb(t.ctx.db);
    const emitted: unknown[] = [];
    const sink: EventSink = { emit: async (_tx, type, data) => void emitted.push({ type, data }) };
    const notices = new ExceededNotices(counted.db, sink, t.ctx.log);
    const policy = policyOf("key", "key:key_unit", { limit: 1, windowS: 60 });
    const startMs = Date.now();
    await t.ctx.db.execute(sql`insert into rate_limit_windows (policy_key, window_start_ms, window_s, granted, last_grant) values ('key:key_unit', ${startMs}::bigint, 60, 1, 1)`);
    for (let i = 0; i < 100; i++) notices.refused(policy, { ok: false, remaining: 0, resetS: 30, windowStartMs: startMs }, "usr_unit");
    await notices.flush();
    expect(emitted).toHaveLength(1);
    expect(counted.count()).toBe(1); // the one transaction that claimed the window
    // Another instance (another set of notices) refused in the same window: the row says it was announced.
    const other = new ExceededNotices(t.ctx.db, sink, t.ctx.log);
    other.refused(policy, { ok: false, remaining: 0, resetS: 29, windowStartMs: startMs }, "usr_unit");
    await other.flush();
    const [row] = rowsOf<{ announced_ms: string | number }>(await t.ctx.db.execute(sql`select announced_ms from rate_limit_windows where policy_key = 'key:key_unit'`));
    expect(Number(row!.announced_ms)).toBe(startMs);
    expect(emitted).toHaveLength(1);
  });
});

const pg = !!process.env.TEST_DATABASE_URL;

describe("two instances on one database", () => {
  let a: TestApp;
  let b: TestApp;
  let both: Receiver;
  beforeAll(async () => {
    if (!pg) return;
    a = await makeApp(WEBHOOK_ENV);
    b = await makeApp(WEBHOOK_ENV, { schema: a.schema });
    both = startReceiver();
  }, 60_000);
  afterAll(async () => {
    if (!pg) return;
    both.stop();
    await b.close();
    await a.close();
  });

  test.if(pg)("both refuse in the same window: the window is announced once between them", async () => {
    const k = await createKey(a, { body: { rate_limit: { limit: 4, window_s: 60 } } });
    await subscribe(a, (await adminOf(a)).accessToken, both, ["ratelimit.exceeded"]);
    const results = await Promise.all([...Array(20)].map((_, i) => validate(i % 2 ? a : b, k.key)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(4);
    // Both instances refused some, so both tried to announce.
    expect(results.filter((r, i) => r.status === 429 && i % 2 === 1).length).toBeGreaterThan(0);
    expect(results.filter((r, i) => r.status === 429 && i % 2 === 0).length).toBeGreaterThan(0);
    // Both instances' announcements have ended: one queued the event, the other lost the claim.
    await a.ctx.services.rateLimits.notices.flush();
    await b.ctx.services.rateLimits.notices.flush();
    const rows = rowsOf<{ n: number }>(
      await a.ctx.db.execute(sql`select count(*)::int as n from webhook_deliveries where event_type = 'ratelimit.exceeded' and payload::jsonb -> 'data' ->> 'subject' = ${k.id}`),
    );
    expect(rows[0]!.n).toBe(1);
    await both.until(() => exceeded(both, k.id).length === 1);
  });
});
