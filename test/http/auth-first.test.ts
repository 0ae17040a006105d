// Credentials are checked before bodies: on every protected route of the OpenAPI document, a
// request with no usable credential gets its family's 401 whatever its body (empty, invalid,
// malformed, another media type), so validation rules never leak to anonymous callers and
// clients that re-login on 401 do. A credential that the route does not take gets the route's
// own 401, not a message about another kind of credential.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HTTP_ERRORS } from "../../src/http/errors";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { createKey } from "../../src/keys/service";
import { label, listRoutes, type RouteSpec } from "../security/openapi-routes";

const FAMILY_401: Record<RouteSpec["family"], (b: any) => boolean> = {
  detail: (b) => typeof b.detail === "string" && Object.keys(b).length === 1,
  brain: (b) => typeof b.detail === "string" && Object.keys(b).length === 1,
  admin: (b) => typeof b.message === "string" && b.status === 401,
  messaging: (b) => b.success === false && b.error === HTTP_ERRORS.MESSAGING_UNAUTHORIZED.message,
  stream: (b) => b.error === "Unauthorized" && b.message === HTTP_ERRORS.STREAM_UNAUTHORIZED.message,
  oauth: (b) => b.error === "invalid_client",
};

let t: TestApp;
let user: SeededUser;
let routes: RouteSpec[];

beforeAll(async () => {
  t = await makeApp({ STREAM_API_KEY: "stream-key", STREAM_API_SECRET: "stream-secret-for-the-auth-first-suite-0123" });
  user = await seedUser(t);
  routes = (await listRoutes(t)).filter((r) => r.secured);
}, 60_000);
afterAll(async () => t?.close());

type BadBody = { name: string; headers: Record<string, string>; body?: string };
const BAD_BODIES: BadBody[] = [
  { name: "no body", headers: {} },
  { name: "empty JSON object", headers: { "content-type": "application/json" }, body: "{}" },
  { name: "wrong types", headers: { "content-type": "application/json" }, body: JSON.stringify({ templateId: 5, question: [], name: {}, refresh_token: 1 }) },
  { name: "malformed JSON", headers: { "content-type": "application/json" }, body: '{"a":' },
  { name: "text/plain", headers: { "content-type": "text/plain" }, body: "hello" },
];

async function deviations(credential: Record<string, string>, which: RouteSpec[] = routes): Promise<string[]> {
  const out: string[] = [];
  for (const r of which) {
    // Query parameters left out too: they are part of what is validated after the credential.
    const path = r.path.split("?")[0]!;
    for (const b of BAD_BODIES) {
      if (b.body === undefined && r.method === "GET" && b.name !== "no body") continue;
      const headers: Record<string, string> = { ...b.headers, ...credential };
      if (b.body !== undefined) headers["content-length"] = String(Buffer.byteLength(b.body));
      const res = await t.app.handle(new Request(`http://localhost${path}`, { method: r.method, headers, body: r.method === "GET" ? undefined : b.body }));
      const text = await res.text();
      let ok = res.status === 401;
      try {
        ok &&= FAMILY_401[r.family](JSON.parse(text));
      } catch {
        ok = false;
      }
      if (ok && (r.family === "detail" || r.family === "brain")) ok = res.headers.get("www-authenticate") === "Bearer";
      if (!ok) out.push(`${label(r)} [${b.name}] → ${res.status} ${text.slice(0, 100)}`);
    }
    if (r.query.length > 0) {
      // Invalid query parameters are validated after the credential too.
      const qs = r.query.map((q) => `${q.name}=-1%20not%20valid`).join("&");
      const res = await t.app.handle(new Request(`http://localhost${path}?${qs}`, { method: r.method, headers: credential }));
      if (res.status !== 401) out.push(`${label(r)} [invalid query] → ${res.status} ${(await res.text()).slice(0, 100)}`);
    }
  }
  return out;
}

describe("auth before validation on every protected route", () => {
  test("the document lists the messaging send routes among the protected ones", () => {
    const names = routes.map(label);
    for (const p of ["send-template", "send-bulk", "send-private"]) expect(names).toContain(`POST /api/messages/${p}`);
  });

  test("no credential and any bad body: the family's 401", async () => {
    expect(await deviations({})).toEqual([]);
  });

  test("an Authorization header without `Bearer `: the family's 401", async () => {
    expect(await deviations({ authorization: user.accessToken })).toEqual([]);
  });

  test("a refresh token as the credential: the family's 401", async () => {
    expect(await deviations({ authorization: `Bearer ${user.refreshToken}` })).toEqual([]);
  });

  test("the issue's case word for word: send-template, no token, empty body", async () => {
    const res = await t.request("POST", "/api/messages/send-template", { body: {} });
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ success: false, error: HTTP_ERRORS.MESSAGING_UNAUTHORIZED.message });
  });
});

describe("a credential the route does not take gets the route's own 401", () => {
  test("a valid API key as Bearer on access-token-only routes: Could not validate credentials", async () => {
    const made = await createKey(t.ctx.db, { userId: user.user.id, name: "k", level: "admin" });
    for (const [method, path, body] of [
      ["GET", "/api/v1/chat/tokens", undefined],
      ["GET", "/api/v1/chat/credits", undefined],
      ["POST", "/api/v1/chat/revoke", {}],
    ] as const) {
      for (const headers of [{ authorization: `Bearer ${made.key}` }, { "x-api-key": made.key }] as Record<string, string>[]) {
        const res = await t.request(method, path, { headers, body });
        expect(res.status).toBe(401);
        expect(await json(res)).toEqual({ detail: HTTP_ERRORS.INVALID_JWT.message });
      }
    }
    // Where keys are accepted, a valid key still works and a bad one says so.
    expect((await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": made.key } })).status).toBe(200);
  });
});

describe("a fault while checking the credential", () => {
  test("is a 500 with a request id, not a 400 about the body", async () => {
    const real = t.ctx.services.keys.verifier;
    t.ctx.authn.plug({
      keys: {
        verify: async () => {
          throw new Error("verifier broke");
        },
      },
    });
    try {
      const res = await t.request("POST", "/api/contacts", { headers: { "x-api-key": "sk_live_whatever" }, body: { name: "x" } });
      expect(res.status).toBe(500);
      const body = await json(res);
      expect(body).toMatchObject({ success: false, error: "Internal server error" });
      expect(typeof body.request_id).toBe("string");
    } finally {
      t.ctx.authn.plug({ keys: real });
    }
  });
});
