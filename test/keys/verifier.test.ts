import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { apiKeys } from "../../src/db/schema";
import { generateKey } from "../../src/keys/key-format";
import type { ApiKeyVerifier } from "../../src/keys/verifier";
import { json, makeApp, type TestApp } from "../helpers";
import { createKey, FORBIDDEN, INVALID_KEY, installCountingVerifier, seedBrain } from "./helpers";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());

const validate = (headers: Record<string, string>, path = "/api/auth/validate") => t.request("GET", path, { headers });

describe("verification", () => {
  test("accepted as X-API-Key and as Bearer; never from the query string", async () => {
    const k = await createKey(t, { level: "read" });
    expect(await json(await validate({ "x-api-key": k.key }))).toEqual({ valid: true, level: "read", name: "test key" });
    expect(await json(await validate({ authorization: `Bearer ${k.key}` }))).toEqual({ valid: true, level: "read", name: "test key" });
    for (const q of [`api_key=${k.key}`, `key=${k.key}`, `x-api-key=${k.key}`, `token=${k.key}`]) {
      const res = await t.request("GET", `/api/auth/validate?${q}`);
      expect(res.status).toBe(401);
      expect(await json(res)).toEqual(INVALID_KEY);
    }
  });

  test("missing, unknown, malformed, revoked and expired keys are all 401 with the documented body", async () => {
    const revoked = await createKey(t);
    await t.ctx.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, revoked.id));
    const expired = await createKey(t, { body: { expires_at: new Date(Date.now() + 60_000).toISOString() } });
    await t.ctx.db
      .update(apiKeys)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(apiKeys.id, expired.id));
    const cases: Record<string, string>[] = [
      {},
      { "x-api-key": generateKey("live").key },
      { "x-api-key": "sk_live_abcdefghijklmnopqrst" },
      { "x-api-key": "not-a-key" },
      { "x-api-key": revoked.key },
      { "x-api-key": expired.key },
      { authorization: "Bearer sk_live_" },
    ];
    for (const headers of cases) {
      const res = await validate(headers);
      expect(res.status).toBe(401);
      expect(await json(res)).toEqual(INVALID_KEY);
    }
  });

  test("expiry is checked on every cached hit", async () => {
    const k = await createKey(t, { body: { expires_at: new Date(Date.now() + 60_000).toISOString() } });
    expect((await validate({ "x-api-key": k.key })).status).toBe(200); // now cached
    const cached = (t.ctx.services.keys.verifier as any).cache as Map<string, { key: { expiresAtMs: number } }>;
    for (const entry of cached.values()) if (entry.key?.expiresAtMs) entry.key.expiresAtMs = Date.now() - 1;
    expect((await validate({ "x-api-key": k.key })).status).toBe(401);
  });

  test("a disabled owner's key is refused", async () => {
    const k = await createKey(t);
    await t.ctx.db.execute(sql`update users set disabled_at = now() where id = ${k.owner.user.id}`);
    t.ctx.services.identity.users.invalidate(k.owner.user.id);
    expect((await validate({ "x-api-key": k.key })).status).toBe(401);
  });

  test("sk_test_ keys are refused when ACCEPT_TEST_KEYS=false, live keys still work", async () => {
    const strict = await makeApp({ ACCEPT_TEST_KEYS: "false" });
    try {
      const testKey = await createKey(strict, { body: { environment: "test" } });
      const liveKey = await createKey(strict);
      const res = await strict.request("GET", "/api/auth/validate", { headers: { "x-api-key": testKey.key } });
      expect(res.status).toBe(401);
      expect(await json(res)).toEqual(INVALID_KEY);
      expect((await strict.request("GET", "/api/auth/validate", { headers: { "x-api-key": liveKey.key } })).status).toBe(200);
    } finally {
      await strict.close();
    }
  });
});

describe("database use", () => {
  test("a malformed or mistyped key is refused without any query; a well-formed unknown key costs one, then none", async () => {
    const real = t.ctx.services.keys.verifier;
    const { count } = installCountingVerifier(t);
    try {
      const k = generateKey("live").key;
      const typo = k.slice(0, 20) + (k[20] === "a" ? "b" : "a") + k.slice(21);
      for (const bad of [typo, k.slice(0, -1), "sk_live_abcdefghijklmnopqrst", `sk_live_${"x".repeat(30)}`]) {
        const res = await validate({ "x-api-key": bad });
        expect(res.status).toBe(401);
      }
      expect(count()).toBe(0);
      // Control: the counter does see the verifier's lookups.
      await validate({ "x-api-key": k });
      expect(count()).toBe(1);
      await validate({ "x-api-key": k });
      expect(count()).toBe(1); // negative result cached
    } finally {
      t.ctx.authn.plug({ keys: real });
    }
  });

  test("a valid key is served from the cache after the first lookup", async () => {
    const real = t.ctx.services.keys.verifier;
    const { count } = installCountingVerifier(t);
    try {
      const k = await createKey(t);
      for (let i = 0; i < 20; i++) expect((await validate({ "x-api-key": k.key })).status).toBe(200);
      expect(count()).toBe(1);
    } finally {
      t.ctx.authn.plug({ keys: real });
    }
  });

  test("the negative cache is bounded", async () => {
    const real = t.ctx.services.keys.verifier;
    const { verifier } = installCountingVerifier(t);
    try {
      const v = verifier as unknown as { opts: { maxNegatives: number }; negatives: Set<string>; cache: Map<string, unknown> };
      v.opts.maxNegatives = 5;
      await Promise.all(Array.from({ length: 12 }, () => validate({ "x-api-key": generateKey("live").key })));
      expect(v.negatives.size).toBeLessThanOrEqual(5);
      expect(v.cache.size).toBeLessThanOrEqual(5);
    } finally {
      t.ctx.authn.plug({ keys: real });
    }
  });

  test("last_used_at is written in one batched UPDATE, not per request", async () => {
    const real = t.ctx.services.keys.verifier;
    const { verifier, count } = installCountingVerifier(t);
    try {
      const a = await createKey(t);
      const b = await createKey(t);
      await Promise.all([...Array(10)].map((_, i) => validate({ "x-api-key": i % 2 ? a.key : b.key })));
      const before = count();
      const rowsBefore = await t.ctx.db.select().from(apiKeys).where(eq(apiKeys.id, a.id));
      expect(rowsBefore[0]!.lastUsedAt).toBeNull();
      expect(await (verifier as ApiKeyVerifier).flushLastUsed()).toBe(2);
      expect(count() - before).toBe(1);
      for (const id of [a.id, b.id]) {
        const [row] = await t.ctx.db.select().from(apiKeys).where(eq(apiKeys.id, id));
        expect(row!.lastUsedAt).toBeInstanceOf(Date);
      }
      expect(await (verifier as ApiKeyVerifier).flushLastUsed()).toBe(0);
    } finally {
      t.ctx.authn.plug({ keys: real });
    }
  });

  test("the last-used writer flushes on stop", async () => {
    const other = await makeApp();
    const k = await createKey(other);
    expect((await other.request("GET", "/api/auth/validate", { headers: { "x-api-key": k.key } })).status).toBe(200);
    const w = other.ctx.workers.find((x) => x.name === "api-key-last-used")!;
    await w.stop();
    const [row] = await other.ctx.db.select().from(apiKeys).where(eq(apiKeys.id, k.id));
    expect(row!.lastUsedAt).toBeInstanceOf(Date);
    await other.close();
  });
});

describe("levels", () => {
  // validate needs read, chat-token needs write, key management needs admin (and an admin owner).
  test("read ⊂ write ⊂ admin on a small set of routes", async () => {
    const brain = await seedBrain(t.ctx.db);
    const keys = {
      read: await createKey(t, { level: "read", role: "admin" }),
      write: await createKey(t, { level: "write", role: "admin" }),
      admin: await createKey(t, { level: "admin", role: "admin" }),
    };
    const routes = [
      { need: 1, call: (key: string) => t.request("GET", "/api/auth/validate", { headers: { "x-api-key": key } }) },
      { need: 2, call: (key: string) => t.request("POST", `/api-key/chat-token?brain_id=${brain}`, { token: key }) },
      { need: 3, call: (key: string) => t.request("GET", "/api/auth/api-keys", { headers: { "x-api-key": key } }) },
    ];
    const rank = { read: 1, write: 2, admin: 3 };
    for (const [level, k] of Object.entries(keys)) {
      for (const r of routes) {
        const res = await r.call(k.key);
        if (rank[level as keyof typeof rank] >= r.need) expect(res.status).toBe(200);
        else {
          expect(res.status).toBe(403);
          expect(await json(res)).toEqual(FORBIDDEN);
        }
      }
    }
  });
});

describe("allowed domains", () => {
  test("exact, wildcard and lookalike hosts via Origin and Referer", async () => {
    const k = await createKey(t, { level: "read", body: { allowed_domains: ["miapp.com", "*.miapp.com"] } });
    const cases: [Record<string, string>, number][] = [
      [{ origin: "https://miapp.com" }, 200],
      [{ origin: "https://MIAPP.COM:8443" }, 200],
      [{ origin: "https://app.miapp.com" }, 200],
      [{ origin: "https://a.b.miapp.com" }, 200],
      [{ referer: "https://www.miapp.com/page" }, 200],
      [{ origin: "https://miapp.com.evil.com" }, 403],
      [{ origin: "https://evilmiapp.com" }, 403],
      [{ origin: "https://miapp.co" }, 403],
      [{ referer: "https://evil.com/?https://miapp.com" }, 403],
      [{ origin: "https://evil.com", referer: "https://miapp.com/" }, 403],
      [{ origin: "null" }, 403],
      [{}, 403],
    ];
    for (const [headers, status] of cases) {
      const res = await validate({ "x-api-key": k.key, ...headers });
      expect({ headers, status: res.status }).toEqual({ headers, status });
      if (status === 403) expect(await json(res)).toEqual(FORBIDDEN);
    }
  });

  test("*.host alone does not admit the apex; a key without domains works from anywhere", async () => {
    const sub = await createKey(t, { level: "read", body: { allowed_domains: ["*.example.com"] } });
    expect((await validate({ "x-api-key": sub.key, origin: "https://example.com" })).status).toBe(403);
    expect((await validate({ "x-api-key": sub.key, origin: "https://x.example.com" })).status).toBe(200);
    const open = await createKey(t, { level: "read" });
    expect((await validate({ "x-api-key": open.key })).status).toBe(200);
    expect((await validate({ "x-api-key": open.key, origin: "https://anything.test" })).status).toBe(200);
  });
});
