import { RATE_LIMIT_ERRORS } from "../../src/rate-limits/errors";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { decodeJwt, jwtVerify } from "jose";
import { StreamChat } from "stream-chat";
import { loadConfig } from "../../src/config";
import { streamTokenAudit } from "../../src/db/schema";
import { streamChatFeature } from "../../src/stream-chat/feature";
import { json, makeApp, seedUser, TEST_JWT_SECRET, type TestApp } from "../helpers";
import { createKey } from "../keys/helpers";
import { STREAM_ERRORS } from "../../src/stream-chat/errors";
import { NO_USAGE } from "../../src/kernel/usage";

// Kept as literals because these tests pin the contract text (the contracts' own words):
// "Customer ID does not match authenticated user", "Invalid or expired session token".

const STREAM_KEY = "j46xbwqsrzsk";
const STREAM_SECRET = "stream-secret-for-tests-0123456789abcdef";
const stream = new StreamChat(STREAM_KEY, STREAM_SECRET);
const secretBytes = new TextEncoder().encode(STREAM_SECRET);

let t: TestApp;
beforeAll(async () => {
  t = await makeApp({ STREAM_API_KEY: STREAM_KEY, STREAM_API_SECRET: STREAM_SECRET, STREAM_TOKEN_RATE: "1000" });
}, 60_000);
afterAll(() => t.close());

const issue = (token: string | undefined, body: unknown, headers: Record<string, string> = {}) => t.request("POST", "/stream-chat/token", { token, body, headers });
const UNAUTHORIZED = { error: "Unauthorized", message: "Invalid or expired session token" };

describe("POST /stream-chat/token", () => {
  test("returns {token}: signed with the Stream secret, user customer-{id}, iat, no exp, identical to the SDK's", async () => {
    const u = await seedUser(t);
    const res = await issue(u.accessToken, { customer_id: u.user.customerId });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(Object.keys(body)).toEqual(["token"]);
    const { payload, protectedHeader } = await jwtVerify(body.token, secretBytes, { algorithms: ["HS256"] });
    expect(protectedHeader.alg).toBe("HS256");
    expect(payload.user_id).toBe(`customer-${u.user.customerId}`);
    expect(typeof payload.iat).toBe("number");
    expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(60);
    expect(payload.exp).toBeUndefined();
    expect(body.token).toBe(stream.createToken(`customer-${u.user.customerId}`, undefined, payload.iat));
    // Not signed with anything of chatgate's.
    await expect(jwtVerify(body.token, new TextEncoder().encode(TEST_JWT_SECRET))).rejects.toThrow();
  });

  test("with STREAM_TOKEN_TTL the token carries exp = iat + ttl, equal to createToken(id, exp, iat)", async () => {
    const ttl = await makeApp({ STREAM_API_KEY: STREAM_KEY, STREAM_API_SECRET: STREAM_SECRET, STREAM_TOKEN_TTL: "3600" });
    try {
      const u = await seedUser(ttl);
      const res = await ttl.request("POST", "/stream-chat/token", { token: u.accessToken, body: { customer_id: u.user.customerId } });
      const { token } = await json(res);
      const { payload } = await jwtVerify(token, secretBytes, { algorithms: ["HS256"] });
      expect(payload.exp! - payload.iat!).toBe(3600);
      expect(token).toBe(stream.createToken(`customer-${u.user.customerId}`, payload.exp, payload.iat));
    } finally {
      await ttl.close();
    }
  });

  test("another customer's id → 403 with the documented body", async () => {
    const u = await seedUser(t);
    const other = await seedUser(t);
    const res = await issue(u.accessToken, { customer_id: other.user.customerId });
    expect(res.status).toBe(403);
    expect(await json(res)).toEqual({ error: "Forbidden", message: "Customer ID does not match authenticated user" });
  });

  test("missing or non-integer customer_id → 400 {error, message}", async () => {
    const u = await seedUser(t);
    const bad = [
      {},
      { customer_id: String(u.user.customerId) },
      { customer_id: 1.5 },
      { customer_id: -1 },
      { customer_id: 0 },
      { customer_id: 2 ** 31 },
      { customer_id: 1e300 },
      { customer_id: null },
      { customer_id: true },
      { customer_id: [1] },
    ];
    for (const body of bad) {
      const res = await issue(u.accessToken, body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(await json(res)).toEqual({ error: "Bad Request", message: STREAM_ERRORS.BAD_CUSTOMER_ID.message });
    }
  });

  test("401 in the documented shape: no token, garbage, refresh token, an API key, a Stream token", async () => {
    const u = await seedUser(t);
    const k = await createKey(t, { owner: u });
    const streamToken = stream.createToken(`customer-${u.user.customerId}`, undefined, Math.floor(Date.now() / 1000));
    for (const token of [undefined, "garbage", "a.b.c", u.refreshToken, k.key, streamToken]) {
      const res = await issue(token, { customer_id: u.user.customerId });
      expect(res.status).toBe(401);
      expect(await json(res)).toEqual(UNAUTHORIZED);
    }
  });

  test("a Stream token is never accepted by chatgate's own routes", async () => {
    const u = await seedUser(t);
    const { token } = await json(await issue(u.accessToken, { customer_id: u.user.customerId }));
    for (const [method, path] of [
      ["GET", "/api-keys"],
      ["POST", "/api-key"],
      ["GET", "/api/auth/validate"],
      ["GET", "/api/auth/api-keys"],
    ]) {
      const res = await t.request(method!, path!, { token, body: method === "POST" ? {} : undefined });
      expect({ path, status: res.status }).toEqual({ path, status: 401 });
    }
    expect((await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": token } })).status).toBe(401);
  });

  test("every issuance is audited (user, customer, user-agent, time); the secret is never logged", async () => {
    const u = await seedUser(t);
    const before = Date.now();
    const results = await Promise.all([...Array(12)].map(() => issue(u.accessToken, { customer_id: u.user.customerId }, { "user-agent": "ios-app/1.0" })));
    expect(results.map((r) => r.status)).toEqual(Array(12).fill(200));
    const rows = await t.ctx.db.select().from(streamTokenAudit).where(eq(streamTokenAudit.userId, u.user.id));
    expect(rows).toHaveLength(12);
    for (const r of rows) {
      expect(r).toMatchObject({ customerId: u.user.customerId, userAgent: "ios-app/1.0" });
      expect(r.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
    }
    // Refused requests are not issuances.
    await issue(u.accessToken, { customer_id: u.user.customerId + 1 });
    expect(await t.ctx.db.select().from(streamTokenAudit).where(eq(streamTokenAudit.userId, u.user.id))).toHaveLength(12);
    expect(t.logs.join("\n")).not.toContain(STREAM_SECRET);
  });

  test("over a socket the audit row records the client address", async () => {
    const u = await seedUser(t);
    t.app.listen({ port: 0, hostname: "127.0.0.1" });
    try {
      const res = await fetch(`http://127.0.0.1:${t.app.server!.port}/stream-chat/token`, {
        method: "POST",
        headers: { authorization: `Bearer ${u.accessToken}`, "content-type": "application/json" },
        body: JSON.stringify({ customer_id: u.user.customerId }),
      });
      expect(res.status).toBe(200);
    } finally {
      await t.app.stop();
    }
    const [row] = await t.ctx.db.select().from(streamTokenAudit).where(eq(streamTokenAudit.userId, u.user.id));
    expect(row!.ip).toMatch(/127\.0\.0\.1$/);
  });
});

describe("rate limit and configuration", () => {
  test("per user: over STREAM_TOKEN_RATE a minute → 429 {error, message} with Retry-After; others unaffected", async () => {
    const limited = await makeApp({ STREAM_API_KEY: STREAM_KEY, STREAM_API_SECRET: STREAM_SECRET, STREAM_TOKEN_RATE: "3" });
    try {
      const u = await seedUser(limited);
      const other = await seedUser(limited);
      const req = (s: typeof u) => limited.request("POST", "/stream-chat/token", { token: s.accessToken, body: { customer_id: s.user.customerId } });
      const results = await Promise.all([...Array(8)].map(() => req(u)));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429, 429]);
      const refused = results.find((r) => r.status === 429)!;
      expect(await json(refused)).toEqual({ error: "Too Many Requests", message: RATE_LIMIT_ERRORS.STREAM_TOKEN.message });
      const retry = Number(refused.headers.get("retry-after"));
      expect(retry).toBeGreaterThanOrEqual(1);
      expect(retry).toBeLessThanOrEqual(60);
      expect((await req(other)).status).toBe(200);
      const rows = await limited.ctx.db.select().from(streamTokenAudit).where(eq(streamTokenAudit.userId, u.user.id));
      expect(rows).toHaveLength(3);
    } finally {
      await limited.close();
    }
  });

  test("Stream not configured → 503 {error, message} (after authentication)", async () => {
    const bare = await makeApp();
    try {
      const u = await seedUser(bare);
      const res = await bare.request("POST", "/stream-chat/token", { token: u.accessToken, body: { customer_id: u.user.customerId } });
      expect(res.status).toBe(503);
      expect(await json(res)).toEqual({ error: "Service Unavailable", message: STREAM_ERRORS.NOT_CONFIGURED.message, request_id: expect.any(String) });
      const anon = await bare.request("POST", "/stream-chat/token", { body: { customer_id: 1 } });
      expect(anon.status).toBe(401);
    } finally {
      await bare.close();
    }
  });

  test("start-up refuses a STREAM_API_SECRET equal to JWT_SECRET", () => {
    const config = loadConfig({ JWT_SECRET: TEST_JWT_SECRET, STREAM_API_KEY: STREAM_KEY, STREAM_API_SECRET: TEST_JWT_SECRET });
    expect(() => streamChatFeature.setup!({ ...t.ctx, config }, { usage: { recorder: NO_USAGE } })).toThrow("STREAM_API_SECRET must not equal JWT_SECRET");
    const ok = loadConfig({ JWT_SECRET: TEST_JWT_SECRET, STREAM_API_KEY: STREAM_KEY, STREAM_API_SECRET: STREAM_SECRET });
    const started = streamChatFeature.setup!({ ...t.ctx, config: ok }, { usage: { recorder: NO_USAGE } }) as Awaited<ReturnType<typeof streamChatFeature.setup & {}>>;
    return Promise.all((started.workers ?? []).map((w) => w.stop()));
  });

  test("the token decodes to exactly the Stream claims and nothing of chatgate's", async () => {
    const u = await seedUser(t);
    const { token } = await json(await issue(u.accessToken, { customer_id: u.user.customerId }));
    expect(Object.keys(decodeJwt(token)).sort()).toEqual(["iat", "user_id"]);
  });
});
