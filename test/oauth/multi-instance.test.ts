// Two instances on one Postgres schema: a revoke on A is seen by B's introspection within a
// second, and a key rotation on A makes B sign with the new key within a second (the bus).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeProtectedHeader } from "jose";
import { json, makeApp, seedUser, type TestApp, within } from "../helpers";
import { createKey } from "../keys/helpers";

const pg = !!process.env.TEST_DATABASE_URL;

let a: TestApp;
let b: TestApp;
let introspector: string;
beforeAll(async () => {
  if (!pg) return;
  a = await makeApp({ JWT_ALG: "EdDSA" });
  b = await makeApp({ JWT_ALG: "EdDSA" }, { schema: a.schema });
  introspector = (await createKey(a, { level: "read", body: { scopes: ["introspect"] } })).key;
}, 60_000);
afterAll(async () => {
  if (!pg) return;
  await b.close();
  await a.close();
});

describe("OAuth endpoints across instances", () => {
  test.if(pg)("both instances agree on one current key and serve the same JWKS", async () => {
    const kidOf = async (t: TestApp) => decodeProtectedHeader((await seedUser(t)).accessToken).kid;
    expect(await kidOf(b)).toBe(await kidOf(a));
    const [ja, jb] = await Promise.all([a, b].map(async (t) => json(await t.request("GET", "/.well-known/jwks.json"))));
    expect(jb).toEqual(ja);
  });

  test.if(pg)("introspection on B answers active:false within a second of a revoke on A", async () => {
    const u = await seedUser(a);
    const onB = async () => json(await b.request("POST", "/oauth/introspect", { token: introspector, body: { token: u.accessToken } }));
    expect((await onB()).active).toBe(true);
    expect((await a.request("POST", "/oauth/revoke", { token: introspector, body: { token: u.accessToken } })).status).toBe(200);
    expect(await within(1000, async () => (await onB()).active === false)).toBe(true);
    expect(await onB()).toEqual({ active: false });
  });

  test.if(pg)("a rotation on A: B signs with the new key within a second, and still verifies the old one", async () => {
    const admin = await seedUser(a, { role: "admin" });
    const old = (await seedUser(b)).accessToken;
    const r = await json(await a.request("POST", "/api/admin/signing-keys/rotate", { token: admin.accessToken }));
    expect(r.previous.kid).toBe(decodeProtectedHeader(old).kid);
    expect(await within(1000, async () => decodeProtectedHeader((await seedUser(b)).accessToken).kid === r.kid)).toBe(true);
    expect((await b.request("GET", "/api/auth/me", { token: old })).status).toBe(200);
    expect((await a.request("GET", "/api/auth/me", { token: old })).status).toBe(200);
  });
});
