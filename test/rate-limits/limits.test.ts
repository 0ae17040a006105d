import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { json, makeApp, seedUser, type TestApp } from "../helpers";
import { adminOf, createKey } from "../keys/helpers";

// RateLimit-Policy: "name";q=<int>;w=<int>   RateLimit: "name";r=<int>;t=<int>  (sf-list of one item)
const POLICY = /^"(key|user|address|stream_token)";q=(\d+);w=(\d+)$/;
const STATE = /^"(key|user|address|stream_token)";r=(\d+);t=(\d+)$/;

function fields(res: Response) {
  const policy = POLICY.exec(res.headers.get("ratelimit-policy") ?? "");
  const state = STATE.exec(res.headers.get("ratelimit") ?? "");
  if (!policy || !state) throw new Error(`bad RateLimit fields: ${res.headers.get("ratelimit-policy")} / ${res.headers.get("ratelimit")}`);
  expect(state[1]).toBe(policy[1]!);
  return { name: policy[1]!, q: Number(policy[2]), w: Number(policy[3]), r: Number(state[2]), t: Number(state[3]) };
}

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
});
afterAll(() => t.close());

const validate = (key: string, app = t) => app.request("GET", "/api/auth/validate", { headers: { "x-api-key": key } });

describe("per API key", () => {
  test("5 per 60 s: the fields count down in structured-field syntax, the 6th is 429 {detail} with Retry-After, nothing else changes", async () => {
    const k = await createKey(t, { body: { rate_limit: { limit: 5, window_s: 60 } } });
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await validate(k.key);
      expect(res.status).toBe(200);
      const f = fields(res);
      expect(f).toMatchObject({ name: "key", q: 5, w: 60 });
      expect(f.t).toBeGreaterThanOrEqual(1);
      expect(f.t).toBeLessThanOrEqual(60);
      seen.push(f.r);
    }
    expect(seen).toEqual([4, 3, 2, 1, 0]);
    const refused = await validate(k.key);
    expect(refused.status).toBe(429);
    const retry = Number(refused.headers.get("retry-after"));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect(fields(refused)).toMatchObject({ name: "key", q: 5, w: 60, r: 0 });
    expect(await json(refused)).toEqual({ detail: expect.stringContaining("Rate limit exceeded") });
    expect(t.ctx.metrics.render()).toMatch(/chatgate_rate_limited_total\{policy="key"\} [1-9]/);
    // Another key of the same owner has no quota of its own: not limited, and no fields.
    const other = await createKey(t, { owner: k.owner });
    const free = await validate(other.key);
    expect(free.status).toBe(200);
    expect(free.headers.get("ratelimit")).toBeNull();
  });

  test("a body is never read when the quota is spent: a 429 comes before validation", async () => {
    const k = await createKey(t, { level: "write", body: { rate_limit: { limit: 1, window_s: 60 } } });
    expect((await validate(k.key)).status).toBe(200);
    const res = await t.request("POST", "/api-key/chat-token?brain_id=not-a-uuid", { headers: { "x-api-key": k.key } });
    expect(res.status).toBe(429);
  });

  test("the created key echoes its quota; POST /api-key takes one too; invalid quotas are 422", async () => {
    const admin = await adminOf(t);
    const u = await seedUser(t);
    const res = await t.request("POST", "/api/auth/api-keys", {
      token: admin.accessToken,
      body: { name: "n", user_id: u.user.id, level: "read", rate_limit: { limit: 7, window_s: 30 } },
    });
    expect(res.status).toBe(201);
    expect((await json(res)).rate_limit).toEqual({ limit: 7, window_s: 30 });
    const own = await t.request("POST", "/api-key", { token: u.accessToken, body: { rate_limit: { limit: 2, window_s: 10 } } });
    expect(own.status).toBe(200);
    const ownKey = await json(own);
    expect(ownKey.rate_limit).toEqual({ limit: 2, window_s: 10 });
    expect(fields(await validate(ownKey.key))).toMatchObject({ name: "key", q: 2, w: 10, r: 1 });
    for (const bad of [{ limit: 0, window_s: 60 }, { limit: 5 }, { limit: 5, window_s: 86401 }, { limit: 1.5, window_s: 60 }, "600/60"]) {
      const r = await t.request("POST", "/api-key", { token: u.accessToken, body: { rate_limit: bad } });
      expect(r.status).toBe(422);
      expect((await json(r)).detail).toContain("rate_limit");
    }
  });

  test("PATCH /api/auth/api-keys/{id} sets and clears a key's quota (admin only; 404 for an unknown key)", async () => {
    const admin = await adminOf(t);
    const k = await createKey(t);
    const patch = (id: string, body: unknown, token = admin.accessToken) => t.request("PATCH", `/api/auth/api-keys/${id}`, { token, body });
    const set = await patch(k.id, { rate_limit: { limit: 2, window_s: 60 } });
    expect(set.status).toBe(200);
    expect(await json(set)).toEqual({ id: k.id, rate_limit: { limit: 2, window_s: 60 } });
    expect(fields(await validate(k.key))).toMatchObject({ name: "key", q: 2, r: 1 });
    expect((await validate(k.key)).status).toBe(200);
    expect((await validate(k.key)).status).toBe(429);
    const cleared = await patch(k.id, { rate_limit: null });
    expect(await json(cleared)).toEqual({ id: k.id, rate_limit: null });
    expect((await validate(k.key)).status).toBe(200);
    expect((await patch("key_nope", { rate_limit: null })).status).toBe(404);
    expect((await patch(k.id, {})).status).toBe(422);
    expect((await patch(k.id, { rate_limit: null }, k.owner.accessToken)).status).toBe(403);
  });
});

describe("per user", () => {
  test("PATCH /api/auth/users/{id} {rate_limit} limits every credential of the user; the fields name the policy closest to its limit", async () => {
    const admin = await adminOf(t);
    const k = await createKey(t, { body: { rate_limit: { limit: 100, window_s: 60 } } });
    const res = await t.request("PATCH", `/api/auth/users/${k.owner.user.id}`, { token: admin.accessToken, body: { rate_limit: { limit: 3, window_s: 60 } } });
    expect(res.status).toBe(200);
    expect((await json(res)).rate_limit).toEqual({ limit: 3, window_s: 60 });
    // Key: 99 of 100 left; user: 2 of 3 left → the user's policy is the closer one.
    expect(fields(await validate(k.key))).toMatchObject({ name: "user", q: 3, r: 2 });
    const me = await t.request("GET", "/api/auth/me", { token: k.owner.accessToken });
    expect(fields(me)).toMatchObject({ name: "user", r: 1 });
    expect((await validate(k.key)).status).toBe(200);
    const refused = await validate(k.key);
    expect(refused.status).toBe(429);
    expect(fields(refused)).toMatchObject({ name: "user", r: 0 });
    // The key's unit was handed back when the user's policy refused.
    const cleared = await t.request("PATCH", `/api/auth/users/${k.owner.user.id}`, { token: admin.accessToken, body: { rate_limit: null } });
    expect((await json(cleared)).rate_limit).toBeNull();
    expect(fields(await validate(k.key))).toMatchObject({ name: "key", r: 97 }); // 2 validations spent, the refused one handed back
  });

  test("RATE_LIMIT_USER is every user's default", async () => {
    const app = await makeApp({ RATE_LIMIT_USER: "2/60" });
    try {
      const u = await seedUser(app);
      const me = () => app.request("GET", "/api/auth/me", { token: u.accessToken });
      expect(fields(await me())).toEqual({ name: "user", q: 2, w: 60, r: 1, t: expect.any(Number) });
      expect((await me()).status).toBe(200);
      const refused = await me();
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    } finally {
      await app.close();
    }
  });

  test("race: 200 concurrent requests against a quota of 50 on one instance admit exactly 50", async () => {
    const k = await createKey(t, { body: { rate_limit: { limit: 50, window_s: 60 } } });
    const results = await Promise.all([...Array(200)].map(() => validate(k.key)));
    const ok = results.filter((r) => r.status === 200).length;
    expect(ok).toBe(50);
    expect(results.filter((r) => r.status === 429).length).toBe(150);
  });
});

test("GET /api/auth/rate-limits: own quotas of the named keys or users and the defaults (admin only)", async () => {
  const admin = await adminOf(t);
  const limited = await createKey(t, { body: { rate_limit: { limit: 9, window_s: 30 } } });
  const free = await createKey(t);
  const res = await t.request("GET", `/api/auth/rate-limits?subject_kind=key&subject_ids=${limited.id},${free.id}`, { token: admin.accessToken });
  expect(res.status).toBe(200);
  expect(await json(res)).toEqual({
    defaults: { user: null, address: null, stream_token: { limit: 30, window_s: 60 }, predict_cost: 10 },
    policies: [{ subject_id: limited.id, rate_limit: { limit: 9, window_s: 30 } }],
  });
  expect((await t.request("GET", `/api/auth/rate-limits?subject_kind=key&subject_ids=${limited.id}`, { token: limited.owner.accessToken })).status).toBe(403);
  expect((await t.request("GET", "/api/auth/rate-limits?subject_kind=team&subject_ids=x", { token: admin.accessToken })).status).toBe(422);
});

describe("per client address", () => {
  test("logins count per address (RATE_LIMIT_ADDRESS); other addresses and probes are not limited", async () => {
    const app = await makeApp({ RATE_LIMIT_ADDRESS: "3/60", TRUST_PROXY: "true" });
    try {
      const u = await seedUser(app);
      const login = (from: string) => app.request("POST", "/api/auth/token", { headers: { "x-forwarded-for": from }, body: { username: u.user.email, password: u.password } });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await login("203.0.113.9")).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const refused = await login("203.0.113.9");
      expect(fields(refused)).toMatchObject({ name: "address", q: 3, r: 0 });
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(await json(refused)).toEqual({ detail: expect.stringContaining("Rate limit exceeded") });
      expect((await login("203.0.113.10")).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await app.request("GET", "/healthz", { headers: { "x-forwarded-for": "203.0.113.9" } })).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

test("config: RATE_LIMIT_USER takes limit/window or limit (per minute); anything else stops start-up", async () => {
  const { loadConfig } = await import("../../src/config");
  expect(loadConfig({ RATE_LIMIT_USER: "600/60" }).rateLimitUser).toEqual({ limit: 600, windowS: 60 });
  expect(loadConfig({ RATE_LIMIT_USER: "600" }).rateLimitUser).toEqual({ limit: 600, windowS: 60 });
  expect(loadConfig({}).rateLimitUser).toBeUndefined();
  expect(() => loadConfig({ RATE_LIMIT_ADDRESS: "10 per minute" })).toThrow("RATE_LIMIT_ADDRESS");
  expect(() => loadConfig({ RATE_LIMIT_ADDRESS: "0/60" })).toThrow("RATE_LIMIT_ADDRESS");
});
