import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { createKey } from "../../src/keys/service";
import { createContact, createTemplate, mintApiToken } from "./helpers";
import { MESSAGING_ERRORS } from "../../src/messaging/errors";

// Kept as literals because these tests pin the contract text (the contracts' own words):
// "Unauthorized: Missing or invalid token", "You do not have sufficient permissions for this operation".

let t: TestApp;
let alice: SeededUser;
let bob: SeededUser;
let admin: SeededUser;
beforeAll(async () => {
  t = await makeApp();
  alice = await seedUser(t);
  bob = await seedUser(t);
  admin = await seedUser(t, { role: "admin" });
}, 60_000);
afterAll(() => t.close(), 60_000);

const UNAUTHORIZED = { success: false, error: "Unauthorized: Missing or invalid token" };

describe("authentication on messaging routes", () => {
  const routes: [string, string, unknown?][] = [
    ["GET", "/api/contacts"],
    ["POST", "/api/contacts", { name: "x" }],
    ["GET", "/api/templates"],
    ["GET", "/api/messages"],
    ["POST", "/api/messages/send-template", { templateId: "x", recipientIds: ["y"] }],
    ["POST", "/api/messages/send-bulk", { recipientIds: ["y"], message: "hi" }],
    ["POST", "/api/messages/send-private", { recipientId: "y", message: "hi" }],
  ];
  for (const [method, path, body] of routes) {
    test(`${method} ${path}: missing, garbage, refresh-typed and revoked tokens are 401`, async () => {
      const revoked = await mintApiToken(t, alice.user, { revoked: true });
      for (const token of [undefined, "garbage", alice.refreshToken, revoked]) {
        const res = await t.request(method, path, { token, body });
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual(UNAUTHORIZED);
      }
    });
  }

  test("an admin-issued API token and an access token both work", async () => {
    const apiToken = await mintApiToken(t, alice.user);
    for (const token of [apiToken, alice.accessToken]) {
      const res = await t.request("GET", "/api/contacts", { token });
      expect(res.status).toBe(200);
    }
  });
});

describe("API keys on messaging routes", () => {
  test("a write key works as X-API-Key and as Bearer; the contact belongs to the key's owner", async () => {
    const { key } = await createKey(t.ctx.db, { userId: alice.user.id, name: "crm", level: "write" });
    const viaHeader = await t.request("POST", "/api/contacts", { headers: { "x-api-key": key }, body: { name: "Keyed" } });
    expect(viaHeader.status).toBe(201);
    expect((await json(viaHeader)).contact.ownerId).toBe(alice.user.id);
    const viaBearer = await t.request("POST", "/api/messages/send-private", {
      token: key,
      body: { recipientId: (await json(await t.request("GET", "/api/contacts", { token: key }))).contacts[0].id, message: "from a key" },
    });
    expect(viaBearer.status).toBe(200);
    expect((await json(viaBearer)).count).toBe(1);
  });

  test("a read key is 403, an unknown key 401, both in the messaging shape", async () => {
    const { key } = await createKey(t.ctx.db, { userId: alice.user.id, name: "ro", level: "read" });
    const ro = await t.request("GET", "/api/contacts", { headers: { "x-api-key": key } });
    expect(ro.status).toBe(403);
    expect(await json(ro)).toEqual({ success: false, error: "You do not have sufficient permissions for this operation" });
    const unknown = await t.request("GET", "/api/contacts", { headers: { "x-api-key": "sk_live_notarealkey000000000000000000" } });
    expect(unknown.status).toBe(401);
    expect(await json(unknown)).toEqual(UNAUTHORIZED);
  });
});

describe("contacts", () => {
  test("create, read, update, delete", async () => {
    const res = await t.request("POST", "/api/contacts", {
      token: alice.accessToken,
      body: { name: "Ada", email: "ada@example.test", phone: "+1 555", streamUserId: "ada-7", attributes: { city: "Paris", vip: true } },
    });
    expect(res.status).toBe(201);
    const { success, contact } = await json(res);
    expect(success).toBe(true);
    expect(contact).toMatchObject({
      name: "Ada",
      email: "ada@example.test",
      phone: "+1 555",
      streamUserId: "ada-7",
      ownerId: alice.user.id,
      attributes: { city: "Paris", vip: true },
    });
    expect(contact.id).toMatch(/^ctc_/);

    const got = await json(await t.request("GET", `/api/contacts/${contact.id}`, { token: alice.accessToken }));
    expect(got).toEqual({ success: true, contact });

    const patched = await t.request("PATCH", `/api/contacts/${contact.id}`, { token: alice.accessToken, body: { name: "Ada L.", email: null } });
    expect(patched.status).toBe(200);
    expect((await json(patched)).contact).toMatchObject({ name: "Ada L.", email: null, phone: "+1 555" });

    const del = await t.request("DELETE", `/api/contacts/${contact.id}`, { token: alice.accessToken });
    expect(await json(del)).toEqual({ success: true });
    const gone = await t.request("GET", `/api/contacts/${contact.id}`, { token: alice.accessToken });
    expect(gone.status).toBe(404);
    expect(await json(gone)).toEqual({ success: false, error: MESSAGING_ERRORS.CONTACT_NOT_FOUND.message(contact.id) });
  });

  test("an owner sees only their own; someone else's id is 404; admins see all", async () => {
    const mine = await createContact(t, alice.accessToken, { name: "Mine" });
    const theirs = await createContact(t, bob.accessToken, { name: "Theirs" });
    const list = await json(await t.request("GET", "/api/contacts", { token: alice.accessToken }));
    const ids = list.contacts.map((c: any) => c.id);
    expect(ids).toContain(mine.id);
    expect(ids).not.toContain(theirs.id);
    expect(list.total).toBe(list.contacts.length);
    for (const [method, body] of [["GET"], ["PATCH", { name: "x" }], ["DELETE"]] as const) {
      const res = await t.request(method, `/api/contacts/${theirs.id}`, { token: alice.accessToken, body });
      expect(res.status).toBe(404);
      expect(await json(res)).toEqual({ success: false, error: MESSAGING_ERRORS.CONTACT_NOT_FOUND.message(theirs.id) });
    }
    const all = await json(await t.request("GET", "/api/contacts?limit=200", { token: admin.accessToken }));
    const allIds = all.contacts.map((c: any) => c.id);
    expect(allIds).toContain(mine.id);
    expect(allIds).toContain(theirs.id);
    expect((await t.request("GET", `/api/contacts/${theirs.id}`, { token: admin.accessToken })).status).toBe(200);
  });

  test("validation errors are 422 in the messaging shape", async () => {
    const res = await t.request("POST", "/api/contacts", { token: alice.accessToken, body: { name: "" } });
    expect(res.status).toBe(422);
    expect(await json(res)).toEqual({ success: false, error: "name: must be 1 to 200 characters" });
    const email = await t.request("POST", "/api/contacts", { token: alice.accessToken, body: { name: "a", email: "nope" } });
    expect(email.status).toBe(422);
    expect(await json(email)).toEqual({ success: false, error: "email: must be an email address" });
    const c = await createContact(t, alice.accessToken);
    const empty = await t.request("PATCH", `/api/contacts/${c.id}`, { token: alice.accessToken, body: {} });
    expect(empty.status).toBe(422);
    expect(await json(empty)).toEqual({ success: false, error: MESSAGING_ERRORS.EMPTY_PATCH.message });
  });

  test("pagination with limit and offset", async () => {
    const u = await seedUser(t);
    for (const name of ["a", "b", "c"]) await createContact(t, u.accessToken, { name });
    const p1 = await json(await t.request("GET", "/api/contacts?limit=2", { token: u.accessToken }));
    const p2 = await json(await t.request("GET", "/api/contacts?limit=2&offset=2", { token: u.accessToken }));
    expect(p1).toMatchObject({ total: 3, limit: 2, offset: 0 });
    expect(p1.contacts).toHaveLength(2);
    expect(p2.contacts).toHaveLength(1);
    const names = [...p1.contacts, ...p2.contacts].map((c: any) => c.name).sort();
    expect(names).toEqual(["a", "b", "c"]);
  });
});

describe("templates", () => {
  test("create lists the placeholders; read, update, delete", async () => {
    const res = await t.request("POST", "/api/templates", { token: alice.accessToken, body: { name: "hello", body: "Hi {{contact.name}}, see you at {{ event }} ({{event}})" } });
    expect(res.status).toBe(201);
    const { template } = await json(res);
    expect(template).toMatchObject({ name: "hello", ownerId: alice.user.id, placeholders: ["contact.name", "event"] });
    const patched = await json(await t.request("PATCH", `/api/templates/${template.id}`, { token: alice.accessToken, body: { body: "Bye {{who}}" } }));
    expect(patched.template).toMatchObject({ name: "hello", body: "Bye {{who}}", placeholders: ["who"] });
    expect(await json(await t.request("GET", `/api/templates/${template.id}`, { token: alice.accessToken }))).toEqual(patched);
    expect(await json(await t.request("DELETE", `/api/templates/${template.id}`, { token: alice.accessToken }))).toEqual({ success: true });
    const gone = await t.request("GET", `/api/templates/${template.id}`, { token: alice.accessToken });
    expect(gone.status).toBe(404);
    expect(await json(gone)).toEqual({ success: false, error: MESSAGING_ERRORS.TEMPLATE_NOT_FOUND.message(template.id) });
  });

  test("someone else's template is 404; admins see it", async () => {
    const theirs = await createTemplate(t, bob.accessToken, "x");
    const res = await t.request("GET", `/api/templates/${theirs.id}`, { token: alice.accessToken });
    expect(res.status).toBe(404);
    const list = await json(await t.request("GET", "/api/templates", { token: alice.accessToken }));
    expect(list.templates.map((x: any) => x.id)).not.toContain(theirs.id);
    expect((await t.request("GET", `/api/templates/${theirs.id}`, { token: admin.accessToken })).status).toBe(200);
  });

  test("an over-long body is 422", async () => {
    const res = await t.request("POST", "/api/templates", { token: alice.accessToken, body: { name: "big", body: "x".repeat(4097) } });
    expect(res.status).toBe(422);
    expect(await json(res)).toEqual({ success: false, error: "body: must be 1 to 4096 characters" });
  });
});
