// CORS on every route of the OpenAPI document: a listed origin is echoed exactly (never `*`,
// never with credentials), anything else gets no allow headers, and preflights follow suit.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeApp, type TestApp } from "../helpers";
import { label, listRoutes, sampleRequest, type RouteSpec } from "./openapi-routes";

const LISTED = ["https://app.example.test", "https://admin.example.test:8443"];
const UNLISTED = [
  "https://evil.example.test",
  "https://app.example.test.evil.test",
  "https://evilapp.example.test",
  "http://app.example.test",
  "https://APP.EXAMPLE.TEST",
  "https://app.example.test:443",
  "https://admin.example.test",
  "null",
  "*",
  "https://app.example.test, https://evil.example.test",
];
const ALLOW_HEADERS = ["access-control-allow-origin", "access-control-allow-credentials", "access-control-allow-methods", "access-control-allow-headers"];

let t: TestApp;
let plain: TestApp;
let routes: RouteSpec[];

beforeAll(async () => {
  t = await makeApp({ CORS_ORIGINS: LISTED.join(",") });
  plain = await makeApp();
  routes = await listRoutes(t);
}, 60_000);

afterAll(async () => {
  await t?.close();
  await plain?.close();
});

const send = (app: TestApp, r: RouteSpec, origin: string) => app.request(r.method, r.path, sampleRequest(r, { origin }));
const preflight = (app: TestApp, r: RouteSpec, origin: string) =>
  app.request("OPTIONS", r.path, {
    headers: { origin, "access-control-request-method": r.method, "access-control-request-headers": "authorization, content-type" },
  });

function allowHeaders(res: Response): string[] {
  return ALLOW_HEADERS.filter((h) => res.headers.has(h)).map((h) => `${h}: ${res.headers.get(h)}`);
}

describe("CORS with CORS_ORIGINS set", () => {
  test("a listed origin is echoed on every route (errors included), with Vary: Origin, never * or credentials", async () => {
    const wrong: string[] = [];
    for (const r of routes) {
      for (const origin of LISTED) {
        const res = await send(t, r, origin);
        await res.arrayBuffer();
        if (res.headers.get("access-control-allow-origin") !== origin) wrong.push(`${label(r)} ${origin}: ${allowHeaders(res)}`);
        if (res.headers.has("access-control-allow-credentials")) wrong.push(`${label(r)}: credentials allowed`);
        if (!/\borigin\b/i.test(res.headers.get("vary") ?? "")) wrong.push(`${label(r)}: no Vary: Origin`);
      }
    }
    expect(routes.length).toBeGreaterThan(5);
    expect(wrong).toEqual([]);
  });

  test("an unlisted or look-alike origin gets no allow headers on any route", async () => {
    const wrong: string[] = [];
    for (const r of routes) {
      for (const origin of UNLISTED) {
        const res = await send(t, r, origin);
        await res.arrayBuffer();
        const found = allowHeaders(res);
        if (found.length) wrong.push(`${label(r)} ${origin}: ${found.join("; ")}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test("preflight: a listed origin gets the methods and headers it needs, without credentials", async () => {
    const wrong: string[] = [];
    for (const r of routes) {
      const res = await preflight(t, r, LISTED[0]!);
      const methods = res.headers.get("access-control-allow-methods") ?? "";
      const headers = (res.headers.get("access-control-allow-headers") ?? "").toLowerCase();
      if (res.status >= 300) wrong.push(`${label(r)}: preflight ${res.status}`);
      if (res.headers.get("access-control-allow-origin") !== LISTED[0]) wrong.push(`${label(r)}: origin not echoed`);
      if (!methods.includes(r.method)) wrong.push(`${label(r)}: method missing from ${methods}`);
      if (!headers.includes("authorization") || !headers.includes("content-type")) wrong.push(`${label(r)}: headers ${headers}`);
      if (res.headers.has("access-control-allow-credentials")) wrong.push(`${label(r)}: credentials allowed`);
    }
    expect(wrong).toEqual([]);
  });

  test("preflight: an unlisted origin gets no allow headers", async () => {
    const wrong: string[] = [];
    for (const r of routes) {
      for (const origin of UNLISTED) {
        const found = allowHeaders(await preflight(t, r, origin));
        if (found.length) wrong.push(`${label(r)} ${origin}: ${found.join("; ")}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe("CORS without CORS_ORIGINS", () => {
  test("no origin gets allow headers, on requests or preflights", async () => {
    const wrong: string[] = [];
    for (const r of routes) {
      for (const origin of [...LISTED, "https://evil.example.test"]) {
        const res = await send(plain, r, origin);
        await res.arrayBuffer();
        const found = [...allowHeaders(res), ...allowHeaders(await preflight(plain, r, origin))];
        if (found.length) wrong.push(`${label(r)} ${origin}: ${found.join("; ")}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
