import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { count } from "drizzle-orm";
import { contacts, messages } from "../../src/db/schema";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { createContact, createTemplate } from "../messaging/helpers";

// Finding 8 of issue 13: the NUL filter skipped every key named `password` at any depth, so a
// nested `password` with a NUL reached Postgres (a 500 there; run with TEST_DATABASE_URL).
let t: TestApp;
let u: SeededUser;
beforeAll(async () => {
  t = await makeApp();
  u = await seedUser(t);
}, 60_000);
afterAll(() => t.close(), 60_000);

const rows = async (table: typeof contacts | typeof messages) => (await t.ctx.db.select({ n: count() }).from(table))[0]!.n;

describe("NUL under a nested key named password", () => {
  test("contact attributes.password → 422 in the messaging shape, nothing stored", async () => {
    const before = await rows(contacts);
    const res = await t.request("POST", "/api/contacts", { token: u.accessToken, body: { name: "Ada", attributes: { password: "a\u0000b" } } });
    expect(res.status).toBe(422);
    expect(await json(res)).toEqual({ success: false, error: "Request must not contain NUL characters" });
    expect(await rows(contacts)).toBe(before);
  });

  test("template placeholders.password → 422, nothing queued", async () => {
    const c = await createContact(t, u.accessToken);
    const tpl = await createTemplate(t, u.accessToken, "Your code is {{password}}");
    const before = await rows(messages);
    const res = await t.request("POST", "/api/messages/send-template", {
      token: u.accessToken,
      body: { templateId: tpl.id, recipientIds: [c.id], placeholders: { password: "x\u0000y" } },
    });
    expect(res.status).toBe(422);
    expect((await json(res)).error).toBe("Request must not contain NUL characters");
    expect(await rows(messages)).toBe(before);
  });

  test("the real password field keeps its own message (control characters)", async () => {
    const res = await t.request("POST", "/api/v1/chat/authenticate", { body: { username: u.user.email, password: "abc\u0000defghij" } });
    expect(res.status).toBe(422);
    expect((await json(res)).detail).toBe("Password must not contain control characters");
  });
});
