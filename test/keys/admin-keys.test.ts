import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { apiKeys } from "../../src/db/schema";
import { sha256Hex } from "../../src/ids";
import { json, makeApp, seedUser, type TestApp } from "../helpers";
import { adminOf, createKey, FORBIDDEN, INVALID_KEY } from "./helpers";
import { KEY_ERRORS } from "../../src/keys/errors";

// Kept as literals because these tests pin the contract text (the contracts' own words):
// "Could not validate credentials", "User not found".

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

describe("POST /api/auth/api-keys", () => {
  test("201 with exactly the documented fields; the key is stored only as its SHA-256", async () => {
    const admin = await adminOf(t);
    const owner = await seedUser(t);
    const res = await t.request("POST", "/api/auth/api-keys", {
      token: admin.accessToken,
      body: { name: "API Key for Mobile App", user_id: owner.user.id, level: "write", allowed_domains: ["MiApp.com", "*.miapp.com"] },
    });
    expect(res.status).toBe(201);
    const body = await json(res);
    expect(Object.keys(body).sort()).toEqual(["allowed_domains", "created_at", "expires_at", "id", "key", "level", "name"]);
    expect(body).toMatchObject({ name: "API Key for Mobile App", level: "write", expires_at: null, allowed_domains: ["miapp.com", "*.miapp.com"] });
    expect(body.id).toMatch(/^key_[0-9A-Za-z]{22}$/);
    expect(body.key).toMatch(/^sk_live_[0-9A-Za-z]{30}$/);
    expect(body.created_at).toMatch(ISO);

    const [row] = await t.ctx.db.select().from(apiKeys).where(eq(apiKeys.id, body.id));
    expect(row!.keyHash).toBe(sha256Hex(body.key));
    expect(row!.start).toBe(body.key.slice(0, 12));
    expect(JSON.stringify(row)).not.toContain(body.key.slice(8));
    expect(row!.environment).toBe("live");
  });

  test("test environment, expiry, and the key validates at once", async () => {
    const admin = await adminOf(t);
    const owner = await seedUser(t);
    const expires = new Date(Date.now() + 86400_000).toISOString();
    const res = await t.request("POST", "/api/auth/api-keys", {
      token: admin.accessToken,
      body: { name: "ci", user_id: owner.user.id, level: "read", environment: "test", expires_at: expires },
    });
    expect(res.status).toBe(201);
    const body = await json(res);
    expect(body.key).toStartWith("sk_test_");
    expect(body.expires_at).toBe(expires);
    const v = await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": body.key } });
    expect(await json(v)).toEqual({ valid: true, level: "read", name: "ci" });
  });

  test("unknown user_id → 404; bad level, bad domain, past expiry → 422 {detail}", async () => {
    const admin = await adminOf(t);
    const owner = await seedUser(t);
    const post = (body: object) => t.request("POST", "/api/auth/api-keys", { token: admin.accessToken, body });
    const missing = await post({ name: "x", user_id: "usr_doesnotexist", level: "write" });
    expect(missing.status).toBe(404);
    expect(await json(missing)).toEqual({ detail: "User not found" });

    const level = await post({ name: "x", user_id: owner.user.id, level: "root" });
    expect(level.status).toBe(422);
    expect((await json(level)).detail).toContain("level");

    const domain = await post({ name: "x", user_id: owner.user.id, level: "read", allowed_domains: ["https://evil.com/"] });
    expect(domain.status).toBe(422);
    expect(await json(domain)).toEqual({ detail: KEY_ERRORS.BAD_DOMAIN.message });

    const past = await post({ name: "x", user_id: owner.user.id, level: "read", expires_at: "2020-01-01T00:00:00Z" });
    expect(past.status).toBe(422);
    expect(await json(past)).toEqual({ detail: KEY_ERRORS.PAST_EXPIRY.message });

    const noName = await post({ user_id: owner.user.id, level: "read" });
    expect(noName.status).toBe(422);
  });

  test("a user's access token → 403, no token → 401 with the JWT message", async () => {
    const user = await seedUser(t);
    const body = { name: "x", user_id: user.user.id, level: "write" };
    const asUser = await t.request("POST", "/api/auth/api-keys", { token: user.accessToken, body });
    expect(asUser.status).toBe(403);
    expect(await json(asUser)).toEqual(FORBIDDEN);
    const anon = await t.request("POST", "/api/auth/api-keys", { body });
    expect(anon.status).toBe(401);
    expect(anon.headers.get("www-authenticate")).toBe("Bearer");
    expect(await json(anon)).toEqual({ detail: "Could not validate credentials" });
  });
});

describe("GET /api/auth/api-keys", () => {
  test("lists without secrets, filtered by user_id, with start / last_used_at / revoked_at", async () => {
    const admin = await adminOf(t);
    const k = await createKey(t, { level: "read" });
    await createKey(t, { owner: k.owner, level: "write" });
    const res = await t.request("GET", `/api/auth/api-keys?user_id=${k.owner.user.id}`, { token: admin.accessToken });
    expect(res.status).toBe(200);
    const list = await json<any[]>(res);
    expect(list).toHaveLength(2);
    for (const item of list) {
      expect(Object.keys(item).sort()).toEqual(
        ["allowed_domains", "created_at", "environment", "expires_at", "id", "last_used_at", "level", "name", "revoked_at", "start", "user_email", "user_id"].sort(),
      );
      expect(item.user_id).toBe(k.owner.user.id);
      expect(item.user_email).toBe(k.owner.user.email);
    }
    expect(JSON.stringify(list)).not.toContain(k.key);
    expect(list.find((i) => i.id === k.id).start).toBe(k.key.slice(0, 12));

    const all = await json<any[]>(await t.request("GET", "/api/auth/api-keys", { token: admin.accessToken }));
    expect(all.length).toBeGreaterThanOrEqual(2);
  });
});

describe("DELETE /api/auth/api-keys/{id}", () => {
  test("revokes: the documented message, then the key is refused and listed as revoked", async () => {
    const admin = await adminOf(t);
    const k = await createKey(t);
    expect((await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": k.key } })).status).toBe(200);
    const res = await t.request("DELETE", `/api/auth/api-keys/${k.id}`, { token: admin.accessToken });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ message: "API key successfully revoked" });
    const after = await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": k.key } });
    expect(after.status).toBe(401);
    expect(await json(after)).toEqual(INVALID_KEY);
    const list = await json<any[]>(await t.request("GET", `/api/auth/api-keys?user_id=${k.owner.user.id}`, { token: admin.accessToken }));
    expect(list[0].revoked_at).toMatch(ISO);
    // Revoking again answers the same; an unknown id is 404.
    expect((await t.request("DELETE", `/api/auth/api-keys/${k.id}`, { token: admin.accessToken })).status).toBe(200);
    const unknown = await t.request("DELETE", "/api/auth/api-keys/key_nope", { token: admin.accessToken });
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toEqual({ detail: KEY_ERRORS.KEY_NOT_FOUND.message });
  });

  test("an admin-level key of an admin manages keys; an admin-level key of a plain user does not", async () => {
    const adminKey = await createKey(t, { level: "admin", role: "admin" });
    const target = await createKey(t);
    const res = await t.request("DELETE", `/api/auth/api-keys/${target.id}`, { headers: { "x-api-key": adminKey.key } });
    expect(res.status).toBe(200);
    const userAdminKey = await createKey(t, { level: "admin" });
    const denied = await t.request("GET", "/api/auth/api-keys", { headers: { "x-api-key": userAdminKey.key } });
    expect(denied.status).toBe(403);
    expect(await json(denied)).toEqual(FORBIDDEN);
  });
});
