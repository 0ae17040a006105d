// Property-based fuzzing of every route in the OpenAPI document (fast-check): random and
// boundary bodies, query strings and headers, as an admin where the route needs one. Properties:
// no 5xx, a rejected (4xx) request changes no row anywhere, the process keeps answering.
import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { issueSession } from "../../src/identity/sessions";
import { toUserState } from "../../src/identity/user-cache";
import { startFlowiseDouble } from "../doubles/flowise";
import { makeApp, seedUser } from "../helpers";
import { changed, rowCounts, tableNames } from "./db-snapshot";
import { label, listRoutes, type RouteSpec } from "./openapi-routes";

const RUNS = Number(process.env.FUZZ_RUNS ?? 12);
const MAX_BODY = 8192;
// Rejected requests that legitimately write: a failed login is counted (the throttle's whole
// point, and the counters live in the database so they hold across instances) and audited
// (`login.failed`, issue 18: failed logins are security events).
const WRITES_ON_FAILURE: Record<string, string[]> = {
  "POST /api/v1/chat/authenticate": ["login_failures", "audit_events"],
  "POST /api/auth/token": ["login_failures", "audit_events"],
};
// Every request counts against its rate limit policies, refused ones too (a quota of guesses is
// the point): leasing a slice of a window's quota writes its row. Usage rollups count refused
// requests and errors too, written by a background flush at any moment.
const allowedWrites = (r: RouteSpec) => [...(WRITES_ON_FAILURE[label(r)] ?? []), "rate_limit_windows", "usage_rollups"];

const flowise = await startFlowiseDouble({ apiKey: "flowise-key" });
const t = await makeApp({
  FLOWISE_URL: flowise.url,
  FLOWISE_API_KEY: "flowise-key",
  STREAM_API_KEY: "stream-key",
  STREAM_API_SECRET: "stream-secret-for-the-fuzz-suite-0123456789",
  MAX_BODY_BYTES: String(MAX_BODY),
});
const admin = await seedUser(t, { role: "admin" });
let token = admin.accessToken;
const routes = await listRoutes(t);
const tables = await tableNames(t);

afterAll(async () => {
  await t.close();
  await flowise.stop();
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const ascii = fc.string({ unit: "binary-ascii", maxLength: 40 }).map((s) => s.replace(/[\x00-\x1f\x7f]/g, ""));
const hostileString = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.constantFrom("", " ", "\u0000", "a\u0000b", "\u202e\u200b", "😀".repeat(500), "%00", "../../etc/passwd", "' OR 1=1--", "<script>x</script>", "__proto__", "x".repeat(3000)),
);
const hostileValue = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    hostileString,
    fc.integer(),
    fc.constantFrom(0, -1, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 0.5),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("v"), { maxLength: 3 }),
    fc.dictionary(hostileString, tie("v"), { maxKeys: 3 }),
  ),
})).v;
// Numbers as query strings carry, that a schema's number checks must all refuse or accept cleanly.
export const NUMERIC_EDGES = ["-1", "0", "1.5", "99999999999999999999", "1e3", "1e999", "NaN", "Infinity", "-0", "0x10", " 1", "", "9007199254740993"];
const queryValue = fc.oneof(hostileString, fc.constantFrom(...NUMERIC_EDGES));
const deepNesting = fc.integer({ min: 50, max: 20000 }).map((n) => "[".repeat(n) + "]".repeat(n));

interface Input {
  body?: string;
  contentType?: string;
  query: [string, string][];
  headers: [string, string][];
  pathValue?: string;
}

function bodyArb(r: RouteSpec): fc.Arbitrary<string | undefined> {
  if (r.method === "GET") return fc.constant(undefined);
  const sample = r.body?.sample;
  const props = Object.keys(r.body?.schema?.properties ?? {});
  const required: string[] = r.body?.schema?.required ?? [];
  const asObject = sample && typeof sample === "object" && !Array.isArray(sample) ? (sample as Record<string, unknown>) : {};
  const options: fc.Arbitrary<string | undefined>[] = [
    fc.constant(undefined),
    hostileValue.map((v) => JSON.stringify(v)),
    fc.constantFrom("{", "[1,2", "nul", '{"a":1,"a":2}', "\u0000", '{"x":"\\u0000"}', "null", '""', "1e999"),
    deepNesting,
  ];
  if (props.length) {
    options.push(fc.record({ k: fc.constantFrom(...props), v: hostileValue }).map(({ k, v }) => JSON.stringify({ ...asObject, [k]: v })));
  }
  if (required.length) {
    options.push(fc.constantFrom(...required).map((k) => JSON.stringify(Object.fromEntries(Object.entries(asObject).filter(([x]) => x !== k)))));
  }
  return fc.oneof(...options);
}

function inputArb(r: RouteSpec): fc.Arbitrary<Input> {
  const names = [...r.query.map((q) => q.name), "x", "__proto__", "limit", "offset", "brain_id"];
  return fc.record({
    body: bodyArb(r),
    contentType: fc.constantFrom(
      "application/json",
      "application/json; charset=utf-8",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/xml",
      undefined,
    ),
    query: fc.array(fc.tuple(fc.constantFrom(...names), queryValue), { maxLength: 3 }),
    headers: fc.array(fc.tuple(fc.constantFrom("x-request-id", "origin", "referer", "idempotency-key", "accept", "x-forwarded-for", "accept-language"), ascii), { maxLength: 3 }),
    pathValue: r.template.includes("{") ? fc.option(hostileString, { nil: undefined }) : fc.constant(undefined),
  });
}

function requestOf(r: RouteSpec, input: Input): Request {
  let path = r.path.split("?")[0]!;
  if (input.pathValue !== undefined) path = r.template.replace(/\{[^}]+\}/g, encodeURIComponent(input.pathValue));
  const search = new URLSearchParams(r.path.split("?")[1] ?? "");
  for (const [k, v] of input.query) search.append(k, v);
  const headers = new Headers(input.headers);
  if (r.secured) headers.set("authorization", `Bearer ${token}`);
  const qs = search.toString();
  if (input.body !== undefined) {
    if (input.contentType) headers.set("content-type", input.contentType);
    headers.set("content-length", String(Buffer.byteLength(input.body)));
  }
  return new Request(`http://localhost${path}${qs ? `?${qs}` : ""}`, { method: r.method, headers, body: input.body });
}

async function check(r: RouteSpec, input: Input): Promise<void> {
  const before = await rowCounts(t, tables);
  const res = await t.app.handle(requestOf(r, input));
  const text = await res.text();
  const after = await rowCounts(t, tables);
  if (res.status >= 500) throw new Error(`${label(r)} → ${res.status} ${text.slice(0, 200)}`);
  if (res.status >= 400) {
    const diff = changed(before, after, allowedWrites(r));
    if (diff.length) throw new Error(`${label(r)} → ${res.status} yet changed ${diff.join(", ")}: ${text.slice(0, 200)}`);
  }
  // A fuzzed revoke or password change may end the admin's session: start a new one.
  if (res.status === 401 && r.secured) token = (await issueSession(t.ctx, toUserState(admin.user))).accessToken;
}

describe("fuzzing every route of the OpenAPI document", () => {
  test("the document has routes", () => expect(routes.length).toBeGreaterThan(10));

  for (const r of routes) {
    test(`${label(r)}: no 5xx, a 4xx changes nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(inputArb(r), (input) => check(r, input)),
        { numRuns: RUNS },
      );
    }, 30_000);
  }

  test("bodies over MAX_BODY_BYTES are 413 on every route that takes a body", async () => {
    const wrong: string[] = [];
    for (const r of routes.filter((x) => x.method !== "GET")) {
      const big = JSON.stringify({ pad: "x".repeat(MAX_BODY) });
      const res = await t.request(r.method, r.path, { body: big, token, headers: { "content-type": "application/json" } });
      if (res.status !== 413) wrong.push(`${label(r)} → ${res.status}`);
    }
    expect(wrong).toEqual([]);
  });

  test("a NUL byte in any body field, query or path parameter is a 4xx and stores nothing", async () => {
    const wrong: string[] = [];
    for (const r of routes) {
      const cases: Input[] = [];
      const sample = r.body?.sample;
      if (sample && typeof sample === "object" && !Array.isArray(sample)) {
        for (const k of Object.keys(r.body!.schema.properties ?? {})) {
          cases.push({ body: JSON.stringify({ ...sample, [k]: "a\u0000b" }), contentType: "application/json", query: [], headers: [] });
        }
      }
      for (const q of r.query) cases.push({ query: [[q.name, "a\u0000b"]], headers: [] });
      if (r.template.includes("{")) cases.push({ query: [], headers: [], pathValue: "a\u0000b" });
      for (const input of cases) {
        const before = await rowCounts(t, tables);
        const res = await t.app.handle(requestOf(r, input));
        const after = await rowCounts(t, tables);
        const diff = changed(before, after, allowedWrites(r));
        if (res.status < 400 || res.status >= 500 || diff.length) {
          wrong.push(`${label(r)} ${JSON.stringify(input).slice(0, 100)} → ${res.status} ${diff.join(",")}`);
        }
        if (res.status === 401 && r.secured) token = (await issueSession(t.ctx, toUserState(admin.user))).accessToken;
      }
    }
    expect(wrong).toEqual([]);
  }, 30_000);

  test("every mounted route is in the OpenAPI document (or these suites would not see it)", async () => {
    const documented = new Set(routes.map(label));
    // Not API: the OpenAPI pages themselves and the admin console's static files (GET only).
    const notApi = (m: string) => /^GET \/(swagger|admin|\.well-known)(\/|$)/.test(m);
    // Group roots are mounted as `/api/contacts/` and documented (and served) without the slash.
    const mounted = (t.app.routes as { method: string; path: string }[]).map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}").replace(/(.)\/$/, "$1")}`);
    expect(mounted.filter((m) => !documented.has(m) && !notApi(m))).toEqual([]);
    for (const m of mounted.filter(notApi)) {
      const res = await t.request("GET", `${m.slice(4)}?x=%00&__proto__=1&${"a".repeat(2000)}=b`);
      expect(res.status).toBeLessThan(500);
    }
  });

  test("after all of it the process still answers", async () => {
    expect((await t.request("GET", "/healthz")).status).toBe(200);
    expect((await t.request("GET", "/readyz")).status).toBe(200);
  });
});
