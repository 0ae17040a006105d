// What a client written from the contracts alone expects at the edges: null optional fields
// are absent, /api-key takes no body, revoke documents 400, a method a path does not allow is
// 405 with Allow, and a JSON route refuses other media types with 415 — each in its family's shape.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildRequest, json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";

let t: TestApp;
let admin: SeededUser;
beforeAll(async () => {
  t = await makeApp({ STREAM_API_KEY: "stream-key", STREAM_API_SECRET: "stream-secret-for-the-fidelity-suite-012345" });
  admin = await seedUser(t, { role: "admin" });
}, 60_000);
afterAll(async () => t?.close());

const raw = (method: string, path: string, headers: Record<string, string>, body?: string) => {
  if (body !== undefined) headers = { ...headers, "content-length": String(Buffer.byteLength(body)) };
  return t.app.handle(new Request(`http://localhost${path}`, { method, headers, body }));
};

describe("null means absent for optional fields", () => {
  test("the issue's case: POST /api/v1/chat/revoke {token_id: null, all_tokens: false} revokes the current session", async () => {
    const u = await seedUser(t);
    const res = await t.request("POST", "/api/v1/chat/revoke", { token: u.accessToken, body: { token_id: null, all_tokens: false } });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ message: "Tokens revoked successfully." });
    expect((await t.request("GET", "/api/auth/me", { token: u.accessToken })).status).toBe(401);
  });

  test("a null body where the body is optional is no body", async () => {
    const u = await seedUser(t);
    const res = await t.request("POST", "/api/v1/chat/revoke", { token: u.accessToken, body: "null", headers: { "content-type": "application/json" } });
    expect(res.status).toBe(200);
  });

  test("POST /api-key with every optional field null gets the defaults", async () => {
    const u = await seedUser(t);
    const body = { name: null, level: null, environment: null, allowed_domains: null, expires_at: null };
    const res = await t.request("POST", "/api-key", { token: u.accessToken, body });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ name: "API key", level: "write", allowed_domains: [], expires_at: null });
  });

  test("a required field sent as null is still refused, naming the field", async () => {
    const res = await t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token: null } });
    expect(res.status).toBe(422);
    expect(await json(res)).toEqual({ detail: "refresh_token: required" });
  });
});

describe("POST /api-key without a body", () => {
  for (const [name, opts] of [
    ["no body at all", {}],
    ["an empty JSON object", { body: {} }],
  ] as const) {
    test(`${name}: a write key named "API key"`, async () => {
      const u = await seedUser(t);
      const res = await t.request("POST", "/api-key", { token: u.accessToken, ...opts });
      expect(res.status).toBe(200);
      expect(await json(res)).toMatchObject({ name: "API key", level: "write", allowed_domains: [], expires_at: null });
    });
  }
});

describe("revoke answers 400 for invalid parameters, as its contract documents", () => {
  test("wrong types → 400 {detail} naming the field; other /api/v1/chat validation stays 422", async () => {
    const u = await seedUser(t);
    for (const [body, detail] of [
      [{ token_id: 5 }, "token_id: must be a token id"],
      [{ all_tokens: "yes" }, "all_tokens: must be true or false"],
    ] as const) {
      const res = await t.request("POST", "/api/v1/chat/revoke", { token: u.accessToken, body });
      expect(res.status).toBe(400);
      expect(await json(res)).toEqual({ detail });
    }
    expect((await t.request("POST", "/api/v1/chat/refresh", { body: {} })).status).toBe(422);
    expect((await t.request("POST", "/api/v1/chat/authenticate", { body: {} })).status).toBe(422);
  });
});

describe("a method the path does not allow: 405 with Allow, in the family's shape", () => {
  const cases: [string, string, string, (b: any) => boolean][] = [
    ["DELETE", "/api/v1/chat/authenticate", "POST", (b) => typeof b.detail === "string" && Object.keys(b).length === 1],
    ["DELETE", "/api/messages/send-template", "GET, HEAD, POST", (b) => b.success === false && typeof b.error === "string"],
    ["PUT", "/api/admin/tokens", "GET, HEAD, POST", (b) => b.status === 405 && typeof b.message === "string"],
    ["GET", "/stream-chat/token", "POST", (b) => b.error === "Method Not Allowed" && typeof b.message === "string"],
    ["PUT", `/api-key/${crypto.randomUUID()}`, "DELETE", (b) => typeof b.detail === "string"],
  ];
  for (const [method, path, allow, shape] of cases) {
    test(`${method} ${path} → 405, Allow: ${allow}`, async () => {
      // No credential: a route that does not exist for this method has no guard to pass.
      const res = await t.request(method, path);
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe(allow);
      expect(shape(await json(res))).toBe(true);
    });
  }

  test("with or without the trailing slash", async () => {
    for (const path of ["/api/contacts", "/api/contacts/"]) {
      const res = await t.request("PUT", path);
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("GET, HEAD, POST");
    }
  });

  test("an unknown path is still 404", async () => {
    expect((await t.request("GET", "/api/v1/chat/nothing-here")).status).toBe(404);
    expect((await t.request("DELETE", "/no/such/path")).status).toBe(404);
  });

  test("HEAD is listed because GET routes answer it", async () => {
    expect((await t.request("HEAD", "/healthz")).status).toBe(200);
  });
});

describe("a JSON route given another media type: 415 in its family's shape", () => {
  test("the issue's case: POST /api/v1/chat/authenticate with text/plain → 415 {detail}", async () => {
    const res = await raw("POST", "/api/v1/chat/authenticate", { "content-type": "text/plain" }, JSON.stringify({ username: "a", password: "b" }));
    expect(res.status).toBe(415);
    expect(await json(res)).toEqual({ detail: "Content-Type must be application/json" });
  });

  test("form-urlencoded on a JSON route → 415; on /api/auth/token it is a login form", async () => {
    const form = `username=${encodeURIComponent(admin.user.email)}&password=${encodeURIComponent(admin.password)}`;
    const onJson = await raw("POST", "/api/v1/chat/authenticate", { "content-type": "application/x-www-form-urlencoded" }, form);
    expect(onJson.status).toBe(415);
    const onForm = await raw("POST", "/api/auth/token", { "content-type": "application/x-www-form-urlencoded" }, form);
    expect(onForm.status).toBe(200);
    const xml = await raw("POST", "/api/auth/token", { "content-type": "application/xml" }, "<a/>");
    expect(xml.status).toBe(415);
    expect(await json(xml)).toEqual({ detail: "Content-Type must be application/json or application/x-www-form-urlencoded" });
  });

  test("each family renders its own 415 (with valid credentials)", async () => {
    const auth = { authorization: `Bearer ${admin.accessToken}` };
    const messaging = await raw("POST", "/api/contacts", { ...auth, "content-type": "text/plain" }, "name=x");
    expect(messaging.status).toBe(415);
    expect(await json(messaging)).toEqual({ success: false, error: "Content-Type must be application/json" });
    const adminRes = await raw("POST", "/api/admin/chatflows", { ...auth, "content-type": "text/plain" }, "x");
    expect(adminRes.status).toBe(415);
    expect(await json(adminRes)).toEqual({ message: "Content-Type must be application/json", status: 415 });
    const stream = await raw("POST", "/stream-chat/token", { ...auth, "content-type": "multipart/form-data; boundary=x" }, "--x--");
    expect(stream.status).toBe(415);
    expect(await json(stream)).toMatchObject({ error: "Unsupported Media Type" });
    const brain = await raw("POST", "/chat", { ...auth, "content-type": "application/xml" }, "<a/>");
    expect(brain.status).toBe(415);
  });

  test("a body without Content-Type → 415; JSON with a charset is JSON", async () => {
    const none = await raw("POST", "/api/v1/chat/authenticate", {}, "{}");
    expect(none.status).toBe(415);
    const charset = await t.app.handle(
      buildRequest("http://localhost", "POST", "/api/v1/chat/authenticate", {
        body: { username: admin.user.email, password: admin.password },
        headers: { "content-type": "application/json; charset=utf-8" },
      }),
    );
    expect(charset.status).toBe(200);
  });
});
