import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { apiKeys } from "../../src/db/schema";
import { sha256Hex } from "../../src/ids";
import { json, makeApp, seedUser, type TestApp } from "../helpers";
import { createKey } from "./helpers";
import { KEY_ERRORS } from "../../src/keys/errors";

// Kept as literals because these tests pin the contract text (the contracts' own words):
// "Could not validate credentials".

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());

describe("a user's own keys", () => {
  test("POST /api-key makes a write key by default, shown once, stored hashed", async () => {
    const u = await seedUser(t);
    const res = await t.request("POST", "/api-key", { token: u.accessToken, body: {} });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(Object.keys(body).sort()).toEqual(["allowed_domains", "created_at", "expires_at", "id", "key", "level", "name"]);
    expect(body).toMatchObject({ level: "write", name: "API key", expires_at: null, allowed_domains: [] });
    const [row] = await t.ctx.db.select().from(apiKeys).where(eq(apiKeys.id, body.id));
    expect(row!.userId).toBe(u.user.id);
    expect(row!.keyHash).toBe(sha256Hex(body.key));
    expect(Object.values(row!).map(String)).not.toContain(body.key);
    expect(await json(await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": body.key } }))).toEqual({
      valid: true,
      level: "write",
      name: "API key",
    });
  });

  test("name, level, domains, environment and expiry can be chosen; a user cannot mint an admin key, an admin can", async () => {
    const u = await seedUser(t);
    const res = await t.request("POST", "/api-key", {
      token: u.accessToken,
      body: { name: "widget", level: "read", allowed_domains: ["shop.test"], environment: "test" },
    });
    const body = await json(res);
    expect(body).toMatchObject({ name: "widget", level: "read", allowed_domains: ["shop.test"] });
    expect(body.key).toStartWith("sk_test_");

    const admin = await t.request("POST", "/api-key", { token: u.accessToken, body: { level: "admin" } });
    expect(admin.status).toBe(403);
    expect(await json(admin)).toEqual({ detail: KEY_ERRORS.LEVEL_TOO_HIGH.message });
    const boss = await seedUser(t, { role: "admin" });
    const ok = await t.request("POST", "/api-key", { token: boss.accessToken, body: { level: "admin" } });
    expect((await json(ok)).level).toBe("admin");
  });

  test("invalid bodies → 422 {detail}; no or bad token → 401; an API key is not a session", async () => {
    const u = await seedUser(t);
    const bad = await t.request("POST", "/api-key", { token: u.accessToken, body: { level: "super" } });
    expect(bad.status).toBe(422);
    expect(await json(bad)).toEqual({ detail: "level must be one of read, write, admin" });
    const anon = await t.request("POST", "/api-key", { body: {} });
    expect(anon.status).toBe(401);
    expect(await json(anon)).toEqual({ detail: "Could not validate credentials" });
    const k = await createKey(t, { owner: u });
    // A valid key on a route that takes only access tokens gets the route's own 401 (issue 15).
    const withKey = await t.request("GET", "/api-keys", { token: k.key });
    expect(withKey.status).toBe(401);
    expect(await json(withKey)).toEqual({ detail: "Could not validate credentials" });
  });

  test("GET /api-keys lists only the caller's keys, without secrets", async () => {
    const u = await seedUser(t);
    const other = await createKey(t);
    const made = await json(await t.request("POST", "/api-key", { token: u.accessToken, body: { name: "mine" } }));
    const res = await t.request("GET", "/api-keys", { token: u.accessToken });
    expect(res.status).toBe(200);
    const list = await json<any[]>(res);
    expect(list.map((k) => k.id)).toEqual([made.id]);
    expect(list[0]).toMatchObject({ name: "mine", user_id: u.user.id, start: made.key.slice(0, 12), revoked_at: null, last_used_at: null });
    expect(JSON.stringify(list)).not.toContain(made.key);
    expect(JSON.stringify(list)).not.toContain(other.id);
  });

  test("DELETE /api-key/{key_id} revokes the caller's own key; another user's id is 404 and stays valid (IDOR)", async () => {
    const alice = await seedUser(t);
    const bob = await createKey(t);
    const mine = await json(await t.request("POST", "/api-key", { token: alice.accessToken, body: {} }));

    const idor = await t.request("DELETE", `/api-key/${bob.id}`, { token: alice.accessToken });
    expect(idor.status).toBe(404);
    expect(await json(idor)).toEqual({ detail: KEY_ERRORS.KEY_NOT_FOUND.message });
    expect((await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": bob.key } })).status).toBe(200);
    const [bobRow] = await t.ctx.db.select().from(apiKeys).where(eq(apiKeys.id, bob.id));
    expect(bobRow!.revokedAt).toBeNull();

    const res = await t.request("DELETE", `/api-key/${mine.id}`, { token: alice.accessToken });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ message: "API key successfully revoked" });
    expect((await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": mine.key } })).status).toBe(401);
    expect((await t.request("DELETE", "/api-key/key_unknown", { token: alice.accessToken })).status).toBe(404);
  });

  test("a key revoked while cached is refused on the very next request", async () => {
    const u = await seedUser(t);
    const made = await json(await t.request("POST", "/api-key", { token: u.accessToken, body: {} }));
    const ok = await Promise.all([...Array(5)].map(() => t.request("GET", "/api/auth/validate", { headers: { "x-api-key": made.key } })));
    expect(ok.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    await t.request("DELETE", `/api-key/${made.id}`, { token: u.accessToken });
    expect((await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": made.key } })).status).toBe(401);
  });
});
