import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeJwt } from "jose";
import { json, makeApp, seedUser, testDatabaseUrl, type SeededUser, type TestApp } from "../helpers";

// Two app instances on one Postgres schema: what one revokes, the other refuses within a second
// (LISTEN/NOTIFY), although the other has the user and token warm in its caches.
const onPostgres = Boolean(testDatabaseUrl());

let a: TestApp;
let b: TestApp;
let admin: SeededUser;
beforeAll(async () => {
  if (!onPostgres) return;
  // Strict rotation: the reuse test below needs an immediate second use to count as theft.
  a = await makeApp({ REFRESH_REUSE_GRACE: "0" });
  b = await makeApp({ REFRESH_REUSE_GRACE: "0" }, { schema: a.schema });
  admin = await seedUser(a, { role: "admin" });
}, 60_000);
afterAll(async () => {
  if (!onPostgres) return;
  await b.close();
  await a.close();
});

/** Polls instance B until it answers `want`; returns the milliseconds it took. */
async function seenOnB(path: string, token: string, want: number): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < 1000) {
    if ((await b.request("GET", path, { token })).status === want) return performance.now() - start;
    await Bun.sleep(20);
  }
  throw new Error(`instance B still did not answer ${want} on ${path} after 1 s`);
}

describe("revocation across instances", () => {
  test.if(onPostgres)("logout on A: the access token is refused on B within a second", async () => {
    const s = await seedUser(a);
    expect((await b.request("GET", "/api/auth/me", { token: s.accessToken })).status).toBe(200);
    expect((await a.request("POST", "/api/v1/chat/revoke", { token: s.accessToken })).status).toBe(200);
    await seenOnB("/api/auth/me", s.accessToken, 401);
  });

  test.if(onPostgres)("disable on A: B drops its cached user state", async () => {
    const s = await seedUser(a);
    expect((await b.request("GET", "/api/auth/me", { token: s.accessToken })).status).toBe(200);
    await a.request("PATCH", `/api/auth/users/${s.user.id}`, { token: admin.accessToken, body: { disabled: true } });
    await seenOnB("/api/auth/me", s.accessToken, 401);
  });

  test.if(onPostgres)("role and name changes on A are seen on B", async () => {
    const s = await seedUser(a);
    expect((await b.request("GET", "/api/auth/users", { token: s.accessToken })).status).toBe(403);
    await a.request("PATCH", `/api/auth/users/${s.user.id}`, { token: admin.accessToken, body: { role: "admin", name: "Promoted" } });
    await seenOnB("/api/auth/users", s.accessToken, 200);
    expect((await json(await b.request("GET", "/api/auth/me", { token: s.accessToken }))).name).toBe("Promoted");
  });

  test.if(onPostgres)("an API token revoked on A stops on B", async () => {
    const s = await seedUser(a);
    const issued = await json(await a.request("POST", "/api/admin/tokens", { token: admin.accessToken, body: { userId: s.user.id } }));
    expect((await b.request("GET", "/api/contacts", { token: issued.token })).status).toBe(200);
    const id = decodeJwt(issued.token).jti as string;
    expect((await a.request("DELETE", `/api/admin/tokens/${id}`, { token: admin.accessToken })).status).toBe(200);
    await seenOnB("/api/contacts", issued.token, 401);
  });

  test.if(onPostgres)("refresh reuse detected on A revokes the session on B", async () => {
    const s = await seedUser(a);
    const rotated = await json(await b.request("POST", "/api/v1/chat/refresh", { body: { refresh_token: s.refreshToken } }));
    expect((await b.request("GET", "/api/auth/me", { token: rotated.access_token })).status).toBe(200);
    expect((await a.request("POST", "/api/v1/chat/refresh", { body: { refresh_token: s.refreshToken } })).status).toBe(401);
    await seenOnB("/api/auth/me", rotated.access_token, 401);
  });
});
