import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { apiKeys } from "../../src/db/schema";
import { generateKey } from "../../src/keys/key-format";
import { json, makeApp, seedUser, type TestApp } from "../helpers";
import { adminOf, createKey, INVALID_KEY } from "./helpers";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());

const validate = (app: TestApp, key: string) => app.request("GET", "/api/auth/validate", { headers: { "x-api-key": key } });
const rejections = (reason: string) => t.ctx.metrics.counter("chatgate_credential_rejections_total", "").get({ kind: "apiKey", reason });

async function roll(app: TestApp, id: string, body?: Record<string, unknown>) {
  const admin = await adminOf(app);
  return app.request("POST", `/api/auth/api-keys/${id}/roll`, { token: admin.accessToken, body });
}

describe("POST /api/auth/api-keys/{id}/roll", () => {
  test("201: same id, name, level and domains, a new key, and the old one valid until previous_key_expires_at", async () => {
    const k = await createKey(t, { body: { allowed_domains: ["example.com"], name: "mobile" } });
    const before = Date.now();
    const res = await roll(t, k.id, { grace_s: 3600 });
    expect(res.status).toBe(201);
    const body = await json(res);
    expect(Object.keys(body).sort()).toEqual(["allowed_domains", "created_at", "expires_at", "id", "key", "level", "name", "previous_key_expires_at"]);
    expect(body).toMatchObject({ id: k.id, name: "mobile", level: "write", allowed_domains: ["example.com"], expires_at: null });
    expect(body.key).toMatch(/^sk_live_[0-9A-Za-z]{30}$/);
    expect(body.key).not.toBe(k.key);
    const ends = Date.parse(body.previous_key_expires_at);
    expect(ends).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect(ends).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
    const origin = { origin: "https://example.com" };
    for (const key of [k.key, body.key]) {
      const ok = await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": key, ...origin } });
      expect(ok.status).toBe(200);
      expect(await json(ok)).toEqual({ valid: true, level: "write", name: "mobile" });
    }
  });

  test("no body takes KEY_ROLL_GRACE (86400 s by default)", async () => {
    const k = await createKey(t);
    const body = await json(await roll(t, k.id));
    expect(Math.abs(Date.parse(body.previous_key_expires_at) - (Date.now() + 86400_000))).toBeLessThan(5000);
  });

  test("rolling again during a grace ends the older secret; the one just replaced keeps its grace", async () => {
    const k = await createKey(t);
    expect((await validate(t, k.key)).status).toBe(200); // cached
    const second = await json(await roll(t, k.id, { grace_s: 3600 }));
    const third = await json(await roll(t, k.id, { grace_s: 3600 }));
    const unknown = rejections("unknown");
    const refused = await validate(t, k.key);
    expect(refused.status).toBe(401);
    expect(await json(refused)).toEqual(INVALID_KEY);
    expect(rejections("unknown")).toBe(unknown + 1);
    expect((await validate(t, second.key)).status).toBe(200);
    expect((await validate(t, third.key)).status).toBe(200);
  });

  test("grace_s 0 refuses the old secret at once, counted as rolled; the contract body is unchanged", async () => {
    const k = await createKey(t);
    expect((await validate(t, k.key)).status).toBe(200);
    const body = await json(await roll(t, k.id, { grace_s: 0 }));
    const rolled = rejections("rolled");
    const res = await validate(t, k.key);
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual(INVALID_KEY);
    expect(rejections("rolled")).toBe(rolled + 1);
    expect((await validate(t, body.key)).status).toBe(200);
  });

  test("usage stays with the id: last_used_at of the row moves with either secret", async () => {
    const k = await createKey(t);
    const body = await json(await roll(t, k.id, { grace_s: 60 }));
    expect((await validate(t, body.key)).status).toBe(200);
    await t.ctx.services.keys.verifier.flushLastUsed();
    const [row] = await t.ctx.db.select().from(apiKeys).where(eq(apiKeys.id, k.id));
    expect(row!.lastUsedAt).not.toBeNull();
    const listed = await json(await t.request("GET", `/api/auth/api-keys?user_id=${k.owner.user.id}`, { token: (await adminOf(t)).accessToken }));
    expect(listed).toHaveLength(1);
    expect(listed[0].start).toBe(body.key.slice(0, 12));
  });

  test("bad grace_s is 422, an unknown key 404, a revoked key 409, no credential 401", async () => {
    const k = await createKey(t);
    for (const grace_s of [-1, 1.5, "soon", 30 * 86400 + 1]) expect((await roll(t, k.id, { grace_s })).status).toBe(422);
    expect((await roll(t, "key_nope")).status).toBe(404);
    expect((await t.request("POST", `/api/auth/api-keys/${k.id}/roll`, { body: {} })).status).toBe(401);
    expect((await t.request("POST", `/api/auth/api-keys/${k.id}/roll`, { token: k.owner.accessToken, body: {} })).status).toBe(403);
    await t.request("DELETE", `/api-key/${k.id}`, { token: k.owner.accessToken });
    expect((await roll(t, k.id)).status).toBe(409);
  });
});

describe("POST /api-key/{key_id}/roll", () => {
  test("the owner rolls their own key; another user's key is not found", async () => {
    const k = await createKey(t);
    const res = await t.request("POST", `/api-key/${k.id}/roll`, { token: k.owner.accessToken, body: { grace_s: 120 } });
    expect(res.status).toBe(201);
    expect((await json(res)).id).toBe(k.id);
    const other = await seedUser(t);
    expect((await t.request("POST", `/api-key/${k.id}/roll`, { token: other.accessToken })).status).toBe(404);
  });

  test("under load no request fails: the old secret until the new one is known, then the new one", async () => {
    const k = await createKey(t);
    let current = k.key;
    let stop = false;
    let failures = 0;
    let done = 0;
    const worker = async () => {
      while (!stop) {
        if ((await validate(t, current)).status !== 200) failures++;
        done++;
        // In-process requests with a cached key resolve in microtasks: yield so timers run.
        await Bun.sleep(0);
      }
    };
    const until = async (n: number) => {
      while (done < n) await Bun.sleep(5);
    };
    const load = Array.from({ length: 8 }, worker);
    await until(50);
    const res = await t.request("POST", `/api-key/${k.id}/roll`, { token: k.owner.accessToken, body: { grace_s: 600 } });
    expect(res.status).toBe(201);
    const body = await json(res);
    await until(done + 50); // the old secret, after the roll
    current = body.key;
    await until(done + 50); // the new one
    stop = true;
    await Promise.all(load);
    expect(failures).toBe(0);
  });

  test("the old secret is refused once its grace has ended (reason rolled)", async () => {
    const k = await createKey(t);
    expect((await validate(t, k.key)).status).toBe(200); // cached before the roll
    const body = await json(await t.request("POST", `/api-key/${k.id}/roll`, { token: k.owner.accessToken, body: { grace_s: 1 } }));
    // The grace end is a point in time: wait until it has passed.
    await Bun.sleep(Math.max(0, Date.parse(body.previous_key_expires_at) - Date.now() + 5));
    const rolled = rejections("rolled");
    expect((await validate(t, k.key)).status).toBe(401);
    expect(rejections("rolled")).toBe(rolled + 1);
    expect((await validate(t, body.key)).status).toBe(200);
  });
});

describe("rejection reasons", () => {
  test("malformed, unknown, revoked, level and domain are counted by kind and reason", async () => {
    const k = await createKey(t, { level: "read", body: { allowed_domains: ["example.com"] } });
    const before = Object.fromEntries(["malformed", "unknown", "revoked", "level", "domain"].map((r) => [r, rejections(r)]));
    await validate(t, "sk_live_short");
    await validate(t, generateKey("live").key); // well-formed, never issued
    await t.request("POST", `/api-key/chat-token?brain_id=${crypto.randomUUID()}`, { headers: { "x-api-key": k.key, origin: "https://example.com" } });
    await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": k.key, origin: "https://evil.test" } });
    await t.request("DELETE", `/api-key/${k.id}`, { token: k.owner.accessToken });
    await validate(t, k.key);
    for (const r of ["malformed", "unknown", "revoked", "level", "domain"]) expect(rejections(r)).toBe(before[r]! + 1);
    expect(t.ctx.metrics.render()).toContain('chatgate_credential_rejections_total{kind="apiKey",reason="rolled"}');
  });
});
