import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { type FlowiseDouble, startFlowiseDouble } from "../doubles/flowise";
import { makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { expectAdminOnly } from "./helpers";
import { CHATFLOW_ERRORS } from "../../src/chatflows/errors";

const KEY = "flowise-sync-test-key";
const A = { id: "5f1c8d2e-7a43-4b6e-9c0d-1e2f3a4b5c6d", name: "Support" };
const B = { id: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", name: "Sales" };

let d: FlowiseDouble;
let t: TestApp;
let admin: SeededUser;
beforeAll(async () => {
  d = await startFlowiseDouble({ apiKey: KEY, chatflows: [A, B], heartbeatMs: 0 });
  t = await makeApp({ FLOWISE_URL: d.url, FLOWISE_API_KEY: KEY, FLOWISE_TIMEOUT: "1" });
  admin = await seedUser(t, { role: "admin" });
}, 30_000);
afterEach(() => d.reset());
afterAll(async () => {
  await t.close();
  await d.stop();
});

const sync = (app: TestApp = t, token = admin.accessToken) => app.request("POST", "/api/admin/chatflows/sync", { token });

describe("POST /api/admin/chatflows/sync", () => {
  test("imports new chatflows, then only renames known ones and keeps cost and enabled", async () => {
    const first = await sync();
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ created: 2, updated: 0, total: 2 });
    const req = d.lastRequest("chatflows");
    expect(req?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req?.method).toBe("GET");

    await t.request("PATCH", `/api/admin/chatflows/${A.id}`, { token: admin.accessToken, body: { cost: 5, enabled: false, name: "Local name" } });
    const second = await sync();
    expect(await second.json()).toEqual({ created: 0, updated: 2, total: 2 });
    const list = await (await t.request("GET", "/api/admin/chatflows", { token: admin.accessToken })).json();
    const a = list.chatflows.find((c: { id: string }) => c.id === A.id);
    expect(a).toMatchObject({ name: "Support", cost: 5, enabled: false });
    expect(Date.parse(a.synced_at)).not.toBeNaN();
    expect(list.chatflows.find((c: { id: string }) => c.id === B.id)).toMatchObject({ name: "Sales", cost: 1, enabled: true });
  });

  test("Flowise refusing connections → 503", async () => {
    await d.setFault({ kind: "refuse" });
    const res = await sync();
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ message: CHATFLOW_ERRORS.FLOWISE_UNREACHABLE.message, status: 503, request_id: expect.any(String) });
  });

  test("Flowise answering 500 → 502", async () => {
    await d.setFault({ kind: "status500" });
    const res = await sync();
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ message: CHATFLOW_ERRORS.FLOWISE_FAILED.message(500), status: 502, request_id: expect.any(String) });
  });

  test("Flowise answering HTML → 502", async () => {
    await d.setFault({ kind: "html" });
    const res = await sync();
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ message: CHATFLOW_ERRORS.FLOWISE_NOT_JSON.message, status: 502, request_id: expect.any(String) });
  });

  test("Flowise silent past FLOWISE_TIMEOUT → 504", async () => {
    await d.setFault({ kind: "delayFirstByte", ms: 3000 });
    const res = await sync();
    expect(res.status).toBe(504);
    expect(await res.json()).toEqual({ message: CHATFLOW_ERRORS.FLOWISE_TIMEOUT.message, status: 504, request_id: expect.any(String) });
  });

  test("admin only, and nothing reaches Flowise", async () => {
    const user = await seedUser(t);
    await expectAdminOnly(t, "POST", "/api/admin/chatflows/sync", user.accessToken);
    expect(d.calls.chatflows).toBe(0);
  });
});

describe("sync with a misconfigured Flowise", () => {
  test("a wrong API key → 502 that never echoes the key", async () => {
    const wrong = await makeApp({ FLOWISE_URL: d.url, FLOWISE_API_KEY: "wrong-key-123" });
    try {
      const a = await seedUser(wrong, { role: "admin" });
      const res = await sync(wrong, a.accessToken);
      expect(res.status).toBe(502);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ message: CHATFLOW_ERRORS.FLOWISE_KEY_REFUSED.message(401), status: 502, request_id: expect.any(String) });
      expect(text).not.toContain("wrong-key-123");
      expect(d.calls.chatflows).toBe(1);
    } finally {
      await wrong.close();
    }
  });

  test("an answer that is JSON but not a chatflow list → 502", async () => {
    const odd = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => Response.json({ chatflows: [] }) });
    const app = await makeApp({ FLOWISE_URL: `http://127.0.0.1:${odd.port}` });
    try {
      const a = await seedUser(app, { role: "admin" });
      const res = await sync(app, a.accessToken);
      expect(res.status).toBe(502);
      expect(await res.json()).toEqual({ message: CHATFLOW_ERRORS.FLOWISE_BAD_LIST.message, status: 502, request_id: expect.any(String) });
    } finally {
      await app.close();
      odd.stop(true);
    }
  });

  test("no FLOWISE_URL → 503", async () => {
    const bare = await makeApp();
    try {
      const a = await seedUser(bare, { role: "admin" });
      const res = await sync(bare, a.accessToken);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ message: CHATFLOW_ERRORS.FLOWISE_UNCONFIGURED.message, status: 503, request_id: expect.any(String) });
    } finally {
      await bare.close();
    }
  });
});
