// Two real chatgate processes on one fresh Postgres database: what one revokes, the other refuses
// within a second (LISTEN/NOTIFY; each first used the credential, so it sits in its caches), and
// failed logins are counted across both. Runs only with TEST_DATABASE_URL.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testDatabaseUrl } from "../helpers";
import { adminToken, call, freshDatabase, startPair, status, within, type Instance } from "./instances";

const url = testDatabaseUrl();
const LIMIT_MS = 1000;
const MAX_FAILURES = 5;

let db: { url: string; drop(): Promise<void> } | undefined;
let A: Instance;
let B: Instance;
let admin: string;
let seq = 0;

async function newUser(password = "user password 12345"): Promise<{ id: string; email: string; password: string; access: string; refresh: string }> {
  const email = `multi${++seq}-${crypto.randomUUID().slice(0, 6)}@example.test`;
  const user = await call(A.base, "POST", "/api/auth/users", admin, { email, name: `Multi ${seq}`, password });
  const login = await call(A.base, "POST", "/api/v1/chat/authenticate", undefined, { username: email, password });
  return { id: user.id, email, password, access: login.access_token, refresh: login.refresh_token };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe.if(Boolean(url))("two instances: revocations and throttling", () => {
  beforeAll(async () => {
    db = await freshDatabase();
    [A, B] = await startPair({ DATABASE_URL: db.url, LOGIN_MAX_FAILURES: String(MAX_FAILURES), REFRESH_REUSE_GRACE: "0" });
    admin = await adminToken(A.base);
  }, 120_000);

  afterAll(async () => {
    await A?.stop();
    await B?.stop();
    await db?.drop();
  }, 30_000);

  test("a session revoked on A (its refresh family and access token) is refused by B within a second", async () => {
    const u = await newUser();
    expect(await status(B.base, "GET", "/api/v1/chat/credits", bearer(u.access))).toBe(200);
    await call(A.base, "POST", "/api/v1/chat/revoke", u.access, {});
    const ms = await within(3000, async () => (await status(B.base, "GET", "/api/v1/chat/credits", bearer(u.access))) === 401);
    console.log(`session revocation seen by B after ${ms} ms`);
    expect(ms).toBeLessThan(LIMIT_MS);
    expect(await status(B.base, "POST", "/api/v1/chat/refresh", {}, { refresh_token: u.refresh })).toBe(401);
  });

  test("a refresh token reused on B after rotating on A ends the family everywhere", async () => {
    const u = await newUser();
    const rotated = await call(A.base, "POST", "/api/v1/chat/refresh", undefined, { refresh_token: u.refresh });
    expect(await status(B.base, "GET", "/api/v1/chat/credits", bearer(rotated.access_token))).toBe(200);
    expect(await status(B.base, "POST", "/api/v1/chat/refresh", {}, { refresh_token: u.refresh })).toBe(401);
    const ms = await within(3000, async () => (await status(A.base, "GET", "/api/v1/chat/credits", bearer(rotated.access_token))) === 401);
    expect(ms).toBeLessThan(LIMIT_MS);
    expect(await status(A.base, "POST", "/api/v1/chat/refresh", {}, { refresh_token: rotated.refresh_token })).toBe(401);
  });

  test("an API key revoked on A is refused by B within a second", async () => {
    const u = await newUser();
    const key = await call(A.base, "POST", "/api/auth/api-keys", admin, { name: "multi", user_id: u.id, level: "write" });
    expect(await status(B.base, "GET", "/api/auth/validate", { "x-api-key": key.key })).toBe(200);
    await call(A.base, "DELETE", `/api/auth/api-keys/${key.id}`, admin);
    const ms = await within(3000, async () => (await status(B.base, "GET", "/api/auth/validate", { "x-api-key": key.key })) === 401);
    console.log(`API key revocation seen by B after ${ms} ms`);
    expect(ms).toBeLessThan(LIMIT_MS);
  });

  test("an admin-issued API token revoked on A is refused by B within a second", async () => {
    const u = await newUser();
    const issued = await call(A.base, "POST", "/api/admin/tokens", admin, { userId: u.id, expiration: null });
    expect(await status(B.base, "GET", "/api/messages", bearer(issued.token))).toBe(200);
    const listed = await call(A.base, "GET", `/api/admin/tokens?userId=${u.id}`, admin);
    const id = (listed.tokens as { id: string }[])[0]!.id;
    await call(A.base, "DELETE", `/api/admin/tokens/${id}`, admin);
    const ms = await within(3000, async () => (await status(B.base, "GET", "/api/messages", bearer(issued.token))) === 401);
    console.log(`API token revocation seen by B after ${ms} ms`);
    expect(ms).toBeLessThan(LIMIT_MS);
  });

  test("a user disabled on A is refused by B within a second (access token and API key)", async () => {
    const u = await newUser();
    const key = await call(A.base, "POST", "/api/auth/api-keys", admin, { name: "multi", user_id: u.id, level: "write" });
    expect(await status(B.base, "GET", "/api/v1/chat/credits", bearer(u.access))).toBe(200);
    expect(await status(B.base, "GET", "/api/auth/validate", { "x-api-key": key.key })).toBe(200);
    await call(A.base, "PATCH", `/api/auth/users/${u.id}`, admin, { disabled: true });
    const ms = await within(
      3000,
      async () =>
        (await status(B.base, "GET", "/api/v1/chat/credits", bearer(u.access))) === 401 && (await status(B.base, "GET", "/api/auth/validate", { "x-api-key": key.key })) === 401,
    );
    console.log(`disabled user seen by B after ${ms} ms`);
    expect(ms).toBeLessThan(LIMIT_MS);
  });

  // Last: past the limit the client address (127.0.0.1) is throttled too.
  test("failed logins are counted across both instances", async () => {
    const u = await newUser();
    const attempt = (base: string, password: string) => status(base, "POST", "/api/v1/chat/authenticate", {}, { username: u.email, password });
    const answers: number[] = [];
    for (let i = 0; i < MAX_FAILURES; i++) answers.push(await attempt(i % 2 === 0 ? A.base : B.base, `wrong ${i}`));
    expect(answers).toEqual(Array(MAX_FAILURES).fill(401));
    // Neither instance alone saw the limit; together they did, even for the right password.
    expect(await attempt(A.base, u.password)).toBe(429);
    expect(await attempt(B.base, u.password)).toBe(429);
  });
});
