// GET /api/admin/usage and GET /api/auth/usage: credentials first (401/403 in each family's
// body), every query parameter validated (400 in the family's body), scopes, defaults, and the
// retention pruner.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { HTTP_ERRORS } from "../../src/http/errors";
import { usageRollups } from "../../src/db/schema";
import { USAGE_ERRORS } from "../../src/usage/errors";
import { pruneUsage } from "../../src/usage/service";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { adminOf, createKey, type SeededKey } from "../keys/helpers";

let t: TestApp;
let admin: SeededUser;
let user: SeededUser;
let key: SeededKey;

beforeAll(async () => {
  t = await makeApp();
  admin = await adminOf(t);
  user = await seedUser(t);
  key = await createKey(t, { level: "read", owner: user });
}, 60_000);
afterAll(() => t.close());

const adminGet = (query = "", token = admin.accessToken) => t.request("GET", `/api/admin/usage${query}`, { token });
const ownGet = (query = "", opts: { token?: string; key?: string } = { token: user.accessToken }) =>
  t.request("GET", `/api/auth/usage${query}`, { token: opts.token, headers: opts.key ? { "x-api-key": opts.key } : {} });

const total = (series: { requests: number }[]) => series.reduce((n, p) => n + p.requests, 0);

describe("credentials before anything else", () => {
  test("admin route: none, garbage, a user's token, an API key → 401/403 in the admin body", async () => {
    const none = await t.request("GET", "/api/admin/usage?group_by=nonsense");
    expect([none.status, await json(none)]).toEqual([401, { message: HTTP_ERRORS.INVALID_JWT.message, status: 401 }]);
    const garbage = await adminGet("", "not-a-jwt");
    expect([garbage.status, await json(garbage)]).toEqual([401, { message: HTTP_ERRORS.INVALID_JWT.message, status: 401 }]);
    const nonAdmin = await adminGet("?group_by=nonsense", user.accessToken);
    expect([nonAdmin.status, await json(nonAdmin)]).toEqual([403, { message: HTTP_ERRORS.FORBIDDEN.message, status: 403 }]);
    const adminKey = await createKey(t, { level: "admin", role: "admin" });
    const byKey = await t.request("GET", "/api/admin/usage", { headers: { "x-api-key": adminKey.key } });
    expect(byKey.status).toBe(401);
    expect(await json(byKey)).toEqual({ message: HTTP_ERRORS.INVALID_JWT.message, status: 401 });
  });

  test("own route: none or a bad key → 401 in the detail body", async () => {
    const none = await t.request("GET", "/api/auth/usage?granularity=week");
    expect([none.status, await json(none)]).toEqual([401, { detail: HTTP_ERRORS.INVALID_JWT.message }]);
    const badKey = await ownGet("", { key: "sk_live_not_a_real_key_at_all_000000" });
    expect([badKey.status, await json(badKey)]).toEqual([401, { detail: HTTP_ERRORS.INVALID_API_KEY.message }]);
  });
});

describe("query validation", () => {
  const hostile: [string, string][] = [
    ["?group_by=users", "group_by must be none, user, key or chatflow"],
    ["?group_by=", "group_by must be none, user, key or chatflow"],
    ["?group_by=USER", "group_by must be none, user, key or chatflow"],
    ["?granularity=week", "granularity must be hour or day"],
    ["?granularity=minute", "granularity must be hour or day"],
    ["?since=yesterday", "since must be an ISO 8601 date (2026-11-30) or date-time with a zone (2026-11-30T00:00:00Z)"],
    ["?since=2026-11-30T00:00:00", "since must be an ISO 8601 date (2026-11-30) or date-time with a zone (2026-11-30T00:00:00Z)"],
    ["?since=1733000000", "since must be an ISO 8601 date (2026-11-30) or date-time with a zone (2026-11-30T00:00:00Z)"],
    ["?since=", "since must be an ISO 8601 date (2026-11-30) or date-time with a zone (2026-11-30T00:00:00Z)"],
    ["?until=2026-11-30T00:00:00Z%27%20or%201=1--", "until must be an ISO 8601 date (2026-11-30) or date-time with a zone (2026-11-30T00:00:00Z)"],
    ["?since=2026-02-30T00:00:00Z&until=2026-03-05T00:00:00Z", USAGE_ERRORS.BAD_INSTANT.message("since")],
    ["?since=2026-11-30T24:00:00Z", USAGE_ERRORS.BAD_INSTANT.message("since")],
    ["?until=2026-13-01", USAGE_ERRORS.BAD_INSTANT.message("until")],
    ["?since=2026-11-30T10:00:00Z&until=2026-11-30T09:00:00Z", USAGE_ERRORS.RANGE_ORDER.message],
    ["?since=2026-11-30T10:00:00Z&until=2026-11-30T10:00:00Z", USAGE_ERRORS.RANGE_ORDER.message],
    ["?since=2026-01-01&until=2026-03-01", USAGE_ERRORS.RANGE_TOO_WIDE.message("hour", 31)],
    ["?granularity=day&since=2024-01-01&until=2026-01-01", USAGE_ERRORS.RANGE_TOO_WIDE.message("day", 366)],
    ["?id=usr_x", USAGE_ERRORS.ID_NEEDS_GROUP.message],
    ["?group_by=none&id=usr_x", USAGE_ERRORS.ID_NEEDS_GROUP.message],
    ["?group_by=user&id=x%27%20or%20%271%27=%271", "id must be a user, key or chatflow id (1 to 200 letters, digits, '.', '_', ':', '-')"],
    ["?group_by=user&id=", "id must be a user, key or chatflow id (1 to 200 letters, digits, '.', '_', ':', '-')"],
    [`?group_by=key&id=${"k".repeat(201)}`, "id must be a user, key or chatflow id (1 to 200 letters, digits, '.', '_', ':', '-')"],
  ];

  test("each hostile query → 400 {message, status} on the admin route", async () => {
    const wrong: unknown[] = [];
    for (const [q, message] of hostile) {
      const res = await adminGet(q);
      const body = await json(res);
      if (res.status !== 400 || body.message !== message || body.status !== 400) wrong.push({ q, status: res.status, body });
    }
    expect(wrong).toEqual([]);
  });

  test("each hostile query → 400 {detail} on the caller's own route", async () => {
    const wrong: unknown[] = [];
    for (const [q, message] of hostile) {
      const res = await ownGet(q);
      const body = await json(res);
      if (res.status !== 400 || body.detail !== message) wrong.push({ q, status: res.status, body });
    }
    expect(wrong).toEqual([]);
  });

  test("a repeated parameter and a NUL never make a 5xx", async () => {
    // Elysia keeps one of a repeated query parameter's values, as on every route.
    const twice = await adminGet("?group_by=user&group_by=key");
    expect(twice.status).toBe(200);
    const nul = await adminGet("?id=%00&group_by=user");
    expect(nul.status).toBeLessThan(500);
    expect(nul.status).toBeGreaterThanOrEqual(400);
  });
});

describe("answers", () => {
  test("defaults: hourly, everyone summed, since = the hour 24 h before now, until = now", async () => {
    const before = Date.now();
    const res = await adminGet();
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.group_by).toBe("none");
    expect(body.granularity).toBe("hour");
    const until = Date.parse(body.until);
    expect(until).toBeGreaterThanOrEqual(before);
    expect(Date.parse(body.since)).toBe(until - 24 * 3_600_000 - ((until - 24 * 3_600_000) % 3_600_000));
    for (const p of body.series) expect(p.id).toBeNull();
    // This very request is counted (and written) before the answer.
    expect(total(body.series)).toBeGreaterThan(0);
  });

  test("day granularity defaults to 30 days, buckets at UTC midnight; a date alone means UTC midnight", async () => {
    const body = await json(await adminGet("?granularity=day"));
    expect(Date.parse(body.until) - Date.parse(body.since)).toBeGreaterThanOrEqual(30 * 86_400_000);
    for (const p of body.series) expect(p.bucket.endsWith("T00:00:00.000Z")).toBe(true);
    const dated = await json(await adminGet("?granularity=day&since=2026-01-01&until=2026-01-03"));
    expect([dated.since, dated.until]).toEqual(["2026-01-01T00:00:00.000Z", "2026-01-03T00:00:00.000Z"]);
  });

  test("since rounds down to its bucket; an offset is honoured", async () => {
    const body = await json(await adminGet("?since=2026-11-30T10:30:00%2B02:00&until=2026-11-30T12:00:00Z"));
    expect([body.since, body.until]).toEqual(["2026-11-30T08:00:00.000Z", "2026-11-30T12:00:00.000Z"]);
  });

  test("group_by sums add up to the ungrouped totals; id narrows to one", async () => {
    for (let i = 0; i < 3; i++) expect((await t.request("GET", "/api/auth/me", { token: user.accessToken })).status).toBe(200);
    // Each query is itself a request, counted before its answer: the next one sees one more.
    for (const group of ["user", "key", "chatflow"]) {
      const grouped = await json(await adminGet(`?group_by=${group}`));
      const none = await json(await adminGet());
      expect(total(none.series)).toBe(total(grouped.series) + 1);
    }
    const mine = await json(await adminGet(`?group_by=user&id=${user.user.id}`));
    expect(mine.series.every((p: { id: string }) => p.id === user.user.id)).toBe(true);
    expect(total(mine.series)).toBeGreaterThanOrEqual(3);
  });

  test("a user sees their own usage only; a key sees its own", async () => {
    const before = total((await json(await ownGet())).series);
    await t.request("GET", "/api/auth/me", { token: user.accessToken });
    const after = await json(await ownGet());
    // The /me call and this query itself.
    expect(total(after.series)).toBe(before + 2);
    const other = await json(await ownGet(`?group_by=user&id=${admin.user.id}`));
    expect(other.series).toEqual([]);
    const k1 = total((await json(await ownGet("", { key: key.key }))).series);
    const k2 = await json(await ownGet("?group_by=key", { key: key.key }));
    expect(total(k2.series)).toBe(k1 + 1);
    expect(k2.series.every((p: { id: string }) => p.id === key.id)).toBe(true);
  });
});

describe("retention", () => {
  test("rows older than USAGE_RETENTION_DAYS are pruned, newer ones kept", async () => {
    const day = 86_400_000;
    const now = Date.now();
    const row = (ageDays: number, userId: string) => ({ bucket: new Date(now - ageDays * day - (now % 3_600_000)), userId, apiKeyId: "", chatflowId: "", requests: 1 });
    await t.ctx.db.insert(usageRollups).values([row(200, "usr_old"), row(91, "usr_old"), row(89, "usr_kept"), row(1, "usr_kept")]);
    const count = async (u: string) => Number((await t.ctx.db.select({ n: sql<number>`count(*)::int` }).from(usageRollups).where(sql`user_id = ${u}`))[0]!.n);
    expect(await count("usr_old")).toBe(2);
    expect(t.config.usageRetentionDays).toBe(90);
    const removed = await pruneUsage(t.ctx.db, t.config.usageRetentionDays, now);
    expect(removed).toBeGreaterThanOrEqual(2);
    expect(await count("usr_old")).toBe(0);
    expect(await count("usr_kept")).toBe(2);
  });
});
