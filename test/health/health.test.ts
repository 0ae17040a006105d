import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeApp, settle, type TestApp } from "../helpers";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());

describe("service basics", () => {
  test("healthz and readyz answer", async () => {
    expect((await t.request("GET", "/healthz")).status).toBe(200);
    const ready = await t.request("GET", "/readyz");
    expect(ready.status).toBe(200);
    expect((await ready.json()).status).toBe("ready");
  });

  test("unknown route is a 404 in the detail shape with a request id", async () => {
    const res = await t.request("GET", "/nope", { headers: { "x-request-id": "req-123" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-request-id")).toBe("req-123");
    expect(await res.json()).toEqual({ detail: "Not Found" });
  });

  test("a body over the limit is 413 and a foreign content type is 415", async () => {
    const big = await t.request("POST", "/api/v1/chat/authenticate", {
      body: "x".repeat(2 * 1024 * 1024),
      headers: { "content-type": "application/json" },
    });
    expect(big.status).toBe(413);
    const xml = await t.request("POST", "/api/v1/chat/authenticate", { body: "<a/>", headers: { "content-type": "application/xml" } });
    expect(xml.status).toBe(415);
  });

  test("metrics count requests by route and status", async () => {
    await t.request("GET", "/healthz");
    await settle();
    const text = await (await t.request("GET", "/metrics")).text();
    expect(text).toContain('chatgate_http_requests_total{method="GET",route="/healthz",status="200"}');
    expect(text).toContain("chatgate_http_request_duration_seconds_bucket");
  });

  test("one JSON log line per request, with route, status and request id", async () => {
    const before = t.logs.length;
    await t.request("GET", "/healthz", { headers: { "x-request-id": "log-check-1" } });
    await settle();
    const line = t.logs
      .slice(before)
      .map((l) => JSON.parse(l))
      .find((l) => l.request_id === "log-check-1");
    expect(line).toMatchObject({ msg: "request", method: "GET", route: "/healthz", status: 200 });
  });

  test("an unexpected fault is a 500 with a request id and no stack or message leak", async () => {
    const { createApp } = await import("../../src/app");
    const app = createApp(t.ctx).get("/api/v1/chat/boom", () => {
      throw new Error("secret internal detail sk_live_abc");
    });
    const res = await app.handle(new Request("http://localhost/api/v1/chat/boom", { headers: { "x-request-id": "boom-1" } }));
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ detail: "Internal server error", request_id: "boom-1" });
  });

  test("a database connection fault is a 503 with Retry-After", async () => {
    const { createApp } = await import("../../src/app");
    const app = createApp(t.ctx).get("/api/v1/chat/dbdown", () => {
      throw Object.assign(new Error("query failed"), { cause: Object.assign(new Error("refused"), { code: "ECONNREFUSED" }) });
    });
    const res = await app.handle(new Request("http://localhost/api/v1/chat/dbdown"));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect((await res.json()).detail).toContain("database");
  });

  test("OpenAPI document is served", async () => {
    const res = await t.request("GET", "/swagger/json");
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toContain("/readyz");
  });
});
