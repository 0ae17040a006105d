import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config";
import { makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";

// Issue 13, finding 11: /metrics was public. With METRICS_TOKEN it needs that bearer token (or an
// admin's access token, which the console uses); without METRICS_TOKEN it stays open.
const TOKEN = "metrics-token-0123456789abcdef";
let t: TestApp;
let admin: SeededUser;
let user: SeededUser;
beforeAll(async () => {
  t = await makeApp({ METRICS_TOKEN: TOKEN });
  admin = await seedUser(t, { role: "admin" });
  user = await seedUser(t);
}, 60_000);
afterAll(() => t.close(), 60_000);

const metrics = (headers: Record<string, string> = {}) => t.request("GET", "/metrics", { headers });

describe("METRICS_TOKEN", () => {
  test("without the token, or with a wrong one, /metrics is 401 in the detail shape and shows nothing", async () => {
    for (const headers of <Record<string, string>[]>[
      {},
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { authorization: TOKEN },
      { authorization: `Basic ${btoa(`x:${TOKEN}`)}` },
      { "x-api-key": TOKEN },
      { authorization: `Bearer ${user.accessToken}` },
    ]) {
      const res = await metrics(headers);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ detail: "Metrics require the METRICS_TOKEN bearer token or an admin's access token" });
      expect(text).not.toContain("chatgate_");
    }
  });

  test("the bearer token (any case of the scheme) or an admin's access token gets the metrics", async () => {
    for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `Bearer ${admin.accessToken}`]) {
      const res = await metrics({ authorization });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("chatgate_http_requests_total");
    }
  });

  test("a token shorter than 16 characters stops start-up", () => {
    expect(() => loadConfig({ METRICS_TOKEN: "short" })).toThrow("METRICS_TOKEN");
  });

  test("without METRICS_TOKEN /metrics stays public", async () => {
    const open = await makeApp();
    try {
      expect((await open.request("GET", "/metrics")).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});
