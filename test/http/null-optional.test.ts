// Every optional field of every contract: `null` is the same as leaving it out. Each JSON route
// of the OpenAPI document gets its sample body twice, once as is and once with every optional
// property set to null (for properties whose schema does not itself allow null); both must get
// the same status. Each request gets a fresh admin session, so a revoke cannot mask the others.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { makeApp, seedUser, type TestApp } from "../helpers";
import { label, listRoutes, resolveRef, sampleRequest, sampleValid, type RouteSpec } from "../security/openapi-routes";

let t: TestApp;
let routes: RouteSpec[];
let doc: Record<string, any>;

beforeAll(async () => {
  t = await makeApp({ STREAM_API_KEY: "stream-key", STREAM_API_SECRET: "stream-secret-for-the-null-suite-0123456789" });
  doc = (await (await t.request("GET", "/swagger/json")).json()) as Record<string, any>;
  routes = (await listRoutes(t)).filter((r) => r.body?.type === "application/json" && optionalKeys(r).length > 0);
}, 60_000);
afterAll(async () => t?.close());

function allowsNull(s: Record<string, any>): boolean {
  const r = resolveRef(doc, s);
  return r.type === "null" || (Array.isArray(r.type) && r.type.includes("null")) || (r.anyOf ?? r.oneOf ?? []).some(allowsNull);
}

function optionalKeys(r: RouteSpec): string[] {
  const s = r.body!.schema;
  const required = new Set<string>(s.required ?? []);
  return Object.entries<Record<string, any>>(s.properties ?? {})
    .filter(([k, p]) => !required.has(k) && !allowsNull(p))
    .map(([k]) => k);
}

test("optional fields sent as null get the same answer as when left out, on every JSON route", async () => {
  expect(routes.length).toBeGreaterThan(8);
  const wrong: string[] = [];
  for (const r of routes) {
    const auth = { authorization: `Bearer ${(await seedUser(t, { role: "admin" })).accessToken}` };
    const auth2 = { authorization: `Bearer ${(await seedUser(t, { role: "admin" })).accessToken}` };
    // A fresh sample each time: creations with the same unique values would otherwise conflict.
    const withNulls = { ...(sampleValid(doc, r.body!.schema) as object) } as Record<string, unknown>;
    for (const k of optionalKeys(r)) withNulls[k] = null;
    const a = await t.request(r.method, r.path, { headers: auth, body: withNulls });
    const b = await t.request(r.method, r.path, sampleRequest({ ...r, body: { ...r.body!, sample: sampleValid(doc, r.body!.schema) } }, auth2));
    const aText = await a.text();
    if (a.status >= 500 || (a.status !== b.status && !(b.status === 409 && a.status < 300))) {
      wrong.push(`${label(r)}: with nulls ${a.status} ${aText.slice(0, 100)}; without ${b.status}`);
    }
  }
  expect(wrong).toEqual([]);
}, 120_000);
