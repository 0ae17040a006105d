// Representative flows at LOG_LEVEL=debug, then a scan of every captured log line for each exact
// secret used or handed out: passwords, access/refresh/API/chat/Stream tokens, API keys, the
// configured secrets. A token's signature alone, or a key without its prefix, counts as a leak.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFlowiseDouble, type FlowiseDouble } from "../doubles/flowise";
import { makeApp, seedUser, settle, TEST_JWT_SECRET, type SeededUser, type TestApp } from "../helpers";

const STREAM_SECRET = "stream-secret-for-the-log-scan-0123456789";
const FLOWISE_KEY = "flowise-key-for-the-log-scan-0123456789";
const CHATFLOW = "9a3c2f1e-7b6d-4c5a-8e9f-0a1b2c3d4e5f";

let t: TestApp;
let flowise: FlowiseDouble;
let admin: SeededUser;
const secrets = new Set<string>([TEST_JWT_SECRET, STREAM_SECRET, FLOWISE_KEY]);

function remember(...values: (string | undefined | null)[]) {
  for (const v of values) {
    if (!v) continue;
    secrets.add(v);
    const parts = v.split(".");
    if (parts.length === 3 && parts[2]!.length >= 20) secrets.add(parts[2]!); // a JWT's signature
    const key = /^sk_(live|test)_(.+)$/.exec(v);
    if (key) secrets.add(key[2]!); // the key without its public prefix
  }
}

/** The body of a 2xx (or of the given status); anything else fails the flow. */
async function ok(res: Response, status?: number): Promise<any> {
  const text = await res.text();
  if (status ? res.status !== status : !res.ok) throw new Error(`expected ${status ?? "2xx"}, got ${res.status}: ${text.slice(0, 300)}`);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

beforeAll(async () => {
  flowise = await startFlowiseDouble({ apiKey: FLOWISE_KEY, chatflows: [{ id: CHATFLOW, name: "Log scan flow" }] });
  t = await makeApp({
    LOG_LEVEL: "debug",
    // Strict rotation, so the immediate reuse below is logged as theft.
    REFRESH_REUSE_GRACE: "0",
    FLOWISE_URL: flowise.url,
    FLOWISE_API_KEY: FLOWISE_KEY,
    STREAM_API_KEY: "stream-key",
    STREAM_API_SECRET: STREAM_SECRET,
  });
  admin = await seedUser(t, { role: "admin" });
  remember(admin.password, admin.accessToken, admin.refreshToken);
}, 60_000);

afterAll(async () => {
  await t?.close();
  await flowise?.stop();
});

describe("logs at debug level carry no secret", () => {
  test("login, refresh, keys, chat and Stream tokens, admin API tokens, predictions", async () => {
    const A = admin.accessToken;
    const password = "correct horse battery staple 42";
    remember(password);
    const created = await ok(await t.request("POST", "/api/auth/users", { token: A, body: { email: "scan@example.test", name: "Scan", password } }));

    // Logins: JSON and form, a wrong password, an unknown user.
    const login = await ok(await t.request("POST", "/api/v1/chat/authenticate", { body: { username: "scan@example.test", password } }));
    remember(login.access_token, login.refresh_token);
    const form = await ok(
      await t.request("POST", "/api/auth/token", {
        body: new URLSearchParams({ username: "scan@example.test", password }),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
    );
    remember(form.access_token);
    const wrong = "wrong password that must not be logged";
    remember(wrong);
    await ok(await t.request("POST", "/api/v1/chat/authenticate", { body: { username: "scan@example.test", password: wrong } }), 401);
    await ok(await t.request("POST", "/api/v1/chat/authenticate", { body: { username: "nobody@example.test", password: wrong } }), 401);

    // Refresh rotation, then reuse of the old refresh token (family revoked), then a revoke.
    const refreshed = await ok(await t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token: login.refresh_token } }));
    remember(refreshed.access_token, refreshed.refresh_token);
    await ok(await t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token: login.refresh_token } }), 401);
    const second = await ok(await t.request("POST", "/api/v1/chat/authenticate", { body: { username: "scan@example.test", password } }));
    remember(second.access_token, second.refresh_token);
    await ok(await t.request("POST", "/api/v1/chat/revoke", { token: second.access_token, body: {} }));

    // A chatflow the user may use, with credits.
    await ok(await t.request("POST", "/api/admin/chatflows", { token: A, body: { id: CHATFLOW, name: "Log scan flow", cost: 1 } }));
    await ok(await t.request("PUT", `/api/admin/chatflows/${CHATFLOW}/users/${created.id}`, { token: A }));
    await ok(await t.request("POST", `/api/admin/users/${created.id}/credits`, { token: A, body: { amount: 10, reason: "log scan" } }));
    const userToken = (await ok(await t.request("POST", "/api/v1/chat/authenticate", { body: { username: "scan@example.test", password } }))).access_token;
    remember(userToken);

    // API keys: admin-made and self-made; validate both ways; a wrong key.
    const key = await ok(await t.request("POST", "/api/auth/api-keys", { token: A, body: { name: "scan", user_id: created.id, level: "write" } }));
    remember(key.key);
    const own = await ok(await t.request("POST", "/api-key", { token: userToken, body: { name: "own" } }));
    remember(own.key);
    await ok(await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": key.key } }));
    await ok(await t.request("GET", "/api/auth/validate", { token: own.key }));
    await ok(await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": `${key.key.slice(0, -3)}zzz` } }), 401);

    // Brain chat token and the brain stream.
    const chat = await ok(await t.request("POST", `/api-key/chat-token?brain_id=${CHATFLOW}`, { token: key.key }));
    remember(chat.token);
    const stream = await t.request("POST", `/chat/${crypto.randomUUID()}/question/stream?brain_id=${CHATFLOW}`, { token: chat.token, body: { question: "hello?" } });
    expect(stream.status).toBe(200);
    await stream.text();

    // Predictions: JSON and SSE.
    await ok(await t.request("POST", "/api/v1/chat/predict", { token: userToken, body: { chatflow_id: CHATFLOW, question: "json?" } }));
    const sse = await t.request("POST", "/api/v1/chat/predict", { token: userToken, body: { chatflow_id: CHATFLOW, question: "sse?", streaming: true } });
    expect(sse.status).toBe(200);
    await sse.text();

    // Stream Chat token for the user's own customer id.
    const me = await ok(await t.request("GET", "/api/auth/me", { token: userToken }));
    const streamToken = await ok(await t.request("POST", "/stream-chat/token", { token: userToken, body: { customer_id: me.customer_id } }));
    remember(streamToken.token);

    // Admin-issued API token, used on messaging, then revoked.
    const apiToken = await ok(await t.request("POST", "/api/admin/tokens", { token: A, body: { userId: created.id, expiration: null } }));
    remember(apiToken.token);
    await ok(await t.request("GET", "/api/messages", { token: apiToken.token }));
    await ok(await t.request("PATCH", `/api/auth/users/${created.id}`, { token: A, body: { password: `${password}!` } }));
    remember(`${password}!`);

    await settle();
    const logs = t.logs.join("\n");
    expect(t.logs.length).toBeGreaterThan(20);
    expect(t.config.logLevel).toBe("debug");
    const leaked = [...secrets].filter((s) => logs.includes(s)).map((s) => `${s.slice(0, 12)}… (${s.length} chars)`);
    expect(leaked).toEqual([]);
  }, 60_000);
});
