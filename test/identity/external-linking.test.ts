import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { users } from "../../src/db/schema";
import { IDENTITY_ERRORS } from "../../src/identity/errors";
import { createUser } from "../../src/identity/users";
import { json, makeApp, settle, type TestApp } from "../helpers";

// The external authentication service: a real server on loopback that says yes to everyone,
// with whatever user the test puts in `reply`.
let reply: Record<string, unknown> = {};
const service = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: () => Response.json(reply),
});

let strict: TestApp;
let linking: TestApp;
beforeAll(async () => {
  const env = { AUTH_SERVICE_URL: `http://127.0.0.1:${service.port}/verify`, LOGIN_MAX_FAILURES: "100" };
  strict = await makeApp(env);
  linking = await makeApp({ ...env, AUTH_SERVICE_LINK_BY_EMAIL: "true" });
}, 60_000);
afterAll(async () => {
  await strict.close();
  await linking.close();
  service.stop(true);
});

const login = (t: TestApp, username: string) => t.request("POST", "/api/v1/chat/authenticate", { body: { username, password: "whatever-the-service-checks" } });

const row = async (t: TestApp, id: string) => (await t.ctx.db.select().from(users).where(eq(users.id, id)))[0]!;

async function expectRefused(t: TestApp, res: Response, localId: string) {
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toBe("Bearer");
  expect(await json(res)).toEqual({ detail: IDENTITY_ERRORS.EXTERNAL_EMAIL_CONFLICT.message });
  await settle();
  const warn = t.logs.map((l) => JSON.parse(l)).find((l) => l.level === "warn" && l.local_user_id === localId);
  expect(warn?.msg).toContain("external login refused");
  const after = await row(t, localId);
  expect(after.externalId).toBeNull();
}

describe("external login links identities by external id only", () => {
  test("an email matching a local account with a password is refused (401, warn line), the account untouched", async () => {
    const local = await createUser(strict.ctx.db, { email: "victim@example.test", password: "local-account-passphrase" });
    reply = { id: "ext-attacker-1", email: "VICTIM@example.test", name: "Attacker", role: "user" };
    await expectRefused(strict, await login(strict, "victim@example.test"), local.id);
    expect((await row(strict, local.id)).name).toBe(local.name);
  });

  test("an email matching an admin is refused, even an admin without a password", async () => {
    const admin = await createUser(strict.ctx.db, { email: "ADMIN@X.IO", role: "admin" });
    reply = { id: "ext-attacker-2", email: "admin@x.io", role: "admin" };
    await expectRefused(strict, await login(strict, "admin@x.io"), admin.id);
  });

  test("a service user without an id cannot claim a local account by email either", async () => {
    const local = await createUser(strict.ctx.db, { email: "noid@example.test", password: "local-account-passphrase" });
    reply = { email: "noid@example.test" };
    await expectRefused(strict, await login(strict, "noid@example.test"), local.id);
  });

  test("the same external id keeps signing in to the account it created", async () => {
    reply = { id: "ext-100", email: "mirror@example.test", name: "Mirror" };
    const first = await json(await login(strict, "mirror@example.test"));
    reply = { id: "ext-100", email: "mirror.renamed@example.test", name: "Mirror" };
    const again = await login(strict, "mirror.renamed@example.test");
    expect(again.status).toBe(200);
    expect((await json(again)).user.id).toBe(first.user.id);
  });

  test("AUTH_SERVICE_LINK_BY_EMAIL=true links a password account by email, never an admin", async () => {
    const local = await createUser(linking.ctx.db, { email: "optin@example.test", password: "local-account-passphrase" });
    reply = { id: "ext-200", email: "OptIn@example.test", name: "Opt In" };
    const res = await login(linking, "optin@example.test");
    expect(res.status).toBe(200);
    expect((await json(res)).user.id).toBe(local.id);
    expect((await row(linking, local.id)).externalId).toBe("ext-200");

    const admin = await createUser(linking.ctx.db, { email: "boss@example.test", password: "admin-account-passphrase", role: "admin" });
    reply = { id: "ext-201", email: "boss@example.test", role: "admin" };
    await expectRefused(linking, await login(linking, "boss@example.test"), admin.id);
  });
});
