// Every route of the app answers errors in the family its route group declared, and the declared
// families are the ones each path prefix had before (the frozen rule in ./path-families.ts).
// A new route group that declares none fails here.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { errorFamily, HTTP_ERRORS } from "../../src/http/errors";
import { declaredFamily, RouteTable } from "../../src/http/route-table";
import { json, makeApp, type TestApp } from "../helpers";
import { familyOfPath } from "./path-families";

let t: TestApp;
let table: RouteTable;
beforeAll(async () => {
  t = await makeApp();
  table = new RouteTable();
  table.bind(t.app);
});
afterAll(() => t.close());

const routesOf = () => t.app.routes.filter((r) => r.method !== "ALL" && r.method !== "OPTIONS");

describe("declared error families", () => {
  test("every route declares a family, and it is the one its path had", () => {
    const routes = routesOf();
    expect(routes.length).toBeGreaterThan(50);
    const wrong = routes
      .map((r) => ({ route: `${r.method} ${r.path}`, declared: declaredFamily(r.hooks as Record<string, unknown>), before: familyOfPath(r.path) }))
      .filter((r) => r.declared !== r.before);
    expect(wrong).toEqual([]);
  });

  test("a route group without a declaration is caught", () => {
    const app = new Elysia()
      .use(new Elysia({ prefix: "/declared" }).onTransform(errorFamily("admin")).get("/a", () => "a"))
      .use(new Elysia({ prefix: "/undeclared" }).get("/b", () => "b"));
    const families = app.routes.map((r) => declaredFamily(r.hooks as Record<string, unknown>));
    expect(families).toEqual(["admin", undefined]);
  });

  test("unmatched paths borrow the family of the routes sharing their longest prefix", () => {
    const probes = new Set(["/", "/no-such-thing", "/api/no-such-thing", "/api/v1/no-such-thing"]);
    for (const r of routesOf()) {
      const segments = r.path.split("/").filter(Boolean);
      const stat = segments.slice(0, segments.findIndex((s) => s.startsWith(":") || s === "*") >>> 0);
      probes.add(`/${stat.join("/")}/zz-no-such-route`);
      probes.add(`/${stat.join("/")}/zz/deeper/still`);
      probes.add(`${r.path.replaceAll(/:[a-z_]+\??/g, "x1")}/zz-no-such-route`);
    }
    const wrong = [...probes].map((p) => ({ p, got: table.familyFor(p), want: familyOfPath(p) })).filter((x) => x.got !== x.want);
    expect(probes.size).toBeGreaterThan(60);
    expect(wrong).toEqual([]);
  });

  test("404s and 405s off the route table answer in the neighbours' body", async () => {
    const admin = await t.request("GET", "/api/admin/no-such-thing");
    expect([admin.status, await json(admin)]).toEqual([404, { message: HTTP_ERRORS.NOT_FOUND.message, status: 404 }]);
    const messaging = await t.request("GET", "/api/contacts/x/y/z");
    expect([messaging.status, await json(messaging)]).toEqual([404, { success: false, error: HTTP_ERRORS.NOT_FOUND.message }]);
    const stream = await t.request("PUT", "/stream-chat/token");
    expect(stream.status).toBe(405);
    expect(await json(stream)).toEqual({ error: "Method Not Allowed", message: HTTP_ERRORS.METHOD_NOT_ALLOWED.message("PUT") });
    const other = await t.request("GET", "/no-such-thing");
    expect([other.status, await json(other)]).toEqual([404, { detail: HTTP_ERRORS.NOT_FOUND.message }]);
  });
});
