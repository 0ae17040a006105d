import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { count, eq } from "drizzle-orm";
import { messages } from "../../src/db/schema";
import { json, makeApp, seedUser, settle, type SeededUser, type TestApp } from "../helpers";
import { createContact, createTemplate, mintApiToken } from "./helpers";
import { MESSAGING_ERRORS } from "../../src/messaging/errors";

let t: TestApp;
let alice: SeededUser;
let apiToken: string;
beforeAll(async () => {
  t = await makeApp({ MAX_RECIPIENTS: "5" });
  alice = await seedUser(t);
  apiToken = await mintApiToken(t, alice.user);
}, 60_000);
afterAll(() => t.close(), 60_000);

const storedCount = async (senderId: string) => (await t.ctx.db.select({ n: count() }).from(messages).where(eq(messages.senderId, senderId)))[0]!.n;

describe("send-template", () => {
  test("renders placeholders and contact fields per recipient and queues one message each", async () => {
    const ada = await createContact(t, apiToken, { name: "Ada", email: "ada@example.test", attributes: { city: "Paris" } });
    const bo = await createContact(t, apiToken, { name: "Bo", email: "bo@example.test", phone: "+49 1", attributes: { city: "Berlin" } });
    const tpl = await createTemplate(t, apiToken, "Hi {{contact.name}} <{{contact.email}}> from {{contact.city}}: {{event}} at {{ time }}");
    const res = await t.request("POST", "/api/messages/send-template", {
      token: apiToken,
      body: { templateId: tpl.id, recipientIds: [ada.id, bo.id], placeholders: { event: "Meeting", time: 9 } },
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({ success: true, count: 2 });
    expect(body.messages).toEqual([
      { id: expect.stringMatching(/^msg_/), recipientId: ada.id, status: "queued" },
      { id: expect.stringMatching(/^msg_/), recipientId: bo.id, status: "queued" },
    ]);
    const first = await json(await t.request("GET", `/api/messages/${body.messages[0].id}`, { token: apiToken }));
    expect(first.message).toMatchObject({ text: "Hi Ada <ada@example.test> from Paris: Meeting at 9", templateId: tpl.id, status: "queued", attempts: 0, senderId: alice.user.id });
    const second = await json(await t.request("GET", `/api/messages/${body.messages[1].id}`, { token: apiToken }));
    expect(second.message.text).toBe("Hi Bo <bo@example.test> from Berlin: Meeting at 9");
  });

  test("a placeholder value that looks like a placeholder is sent literally", async () => {
    const c = await createContact(t, apiToken, { name: "Cy" });
    const tpl = await createTemplate(t, apiToken, "{{a}} and {{b}}");
    const res = await json(
      await t.request("POST", "/api/messages/send-template", { token: apiToken, body: { templateId: tpl.id, recipientIds: [c.id], placeholders: { a: "{{b}}", b: "x" } } }),
    );
    const m = await json(await t.request("GET", `/api/messages/${res.messages[0].id}`, { token: apiToken }));
    expect(m.message.text).toBe("{{b}} and x");
  });

  test("a missing placeholder is 422 naming it, and nothing is stored", async () => {
    const u = await seedUser(t);
    const c = await createContact(t, u.accessToken);
    const tpl = await createTemplate(t, u.accessToken, "Hi {{name}}, {{event}}");
    const res = await t.request("POST", "/api/messages/send-template", { token: u.accessToken, body: { templateId: tpl.id, recipientIds: [c.id], placeholders: { name: "A" } } });
    expect(res.status).toBe(422);
    expect(await json(res)).toEqual({ success: false, error: MESSAGING_ERRORS.MISSING_PLACEHOLDER.message("event", c.id) });
    const noEmail = await createTemplate(t, u.accessToken, "Mail {{contact.email}}");
    const res2 = await t.request("POST", "/api/messages/send-template", { token: u.accessToken, body: { templateId: noEmail.id, recipientIds: [c.id] } });
    expect(res2.status).toBe(422);
    expect(await json(res2)).toEqual({ success: false, error: MESSAGING_ERRORS.MISSING_PLACEHOLDER.message("contact.email", c.id) });
    expect(await storedCount(u.user.id)).toBe(0);
  });

  test("an unknown or foreign template is 404", async () => {
    const other = await seedUser(t);
    const foreign = await createTemplate(t, other.accessToken, "x");
    const c = await createContact(t, apiToken);
    for (const id of ["tpl_nope", foreign.id]) {
      const res = await t.request("POST", "/api/messages/send-template", { token: apiToken, body: { templateId: id, recipientIds: [c.id] } });
      expect(res.status).toBe(404);
      expect(await json(res)).toEqual({ success: false, error: MESSAGING_ERRORS.TEMPLATE_NOT_FOUND.message(id) });
    }
  });

  test("rendered text over 4096 characters is 422", async () => {
    const c = await createContact(t, apiToken);
    const tpl = await createTemplate(t, apiToken, "{{long}}!");
    const res = await t.request("POST", "/api/messages/send-template", {
      token: apiToken,
      body: { templateId: tpl.id, recipientIds: [c.id], placeholders: { long: "x".repeat(4096) } },
    });
    expect(res.status).toBe(422);
    expect(await json(res)).toEqual({ success: false, error: MESSAGING_ERRORS.TEXT_TOO_LONG.message(4096, c.id) });
  });
});

describe("send-bulk and send-private", () => {
  test("send-bulk queues the text for each distinct recipient", async () => {
    const a = await createContact(t, alice.accessToken);
    const b = await createContact(t, alice.accessToken);
    const res = await t.request("POST", "/api/messages/send-bulk", { token: alice.accessToken, body: { recipientIds: [a.id, b.id, a.id], message: "Sale today" } });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.count).toBe(2);
    expect(body.messages.map((m: any) => m.recipientId)).toEqual([a.id, b.id]);
  });

  test("send-private queues one message", async () => {
    const a = await createContact(t, apiToken);
    const res = await t.request("POST", "/api/messages/send-private", { token: apiToken, body: { recipientId: a.id, message: "Just you" } });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({ success: true, count: 1, messages: [{ id: expect.any(String), recipientId: a.id, status: "queued" }] });
  });

  test("an unknown recipient among good ones is 404 and nothing is stored", async () => {
    const u = await seedUser(t);
    const a = await createContact(t, u.accessToken);
    const foreign = await createContact(t, alice.accessToken);
    for (const bad of ["ctc_nope", foreign.id]) {
      const res = await t.request("POST", "/api/messages/send-bulk", { token: u.accessToken, body: { recipientIds: [a.id, bad], message: "hi" } });
      expect(res.status).toBe(404);
      expect(await json(res)).toEqual({ success: false, error: MESSAGING_ERRORS.CONTACT_NOT_FOUND.message(bad) });
    }
    const res = await t.request("POST", "/api/messages/send-private", { token: u.accessToken, body: { recipientId: "ctc_nope", message: "hi" } });
    expect(res.status).toBe(404);
    expect(await storedCount(u.user.id)).toBe(0);
  });

  test("empty and over-long text are 422; too many recipients is 413; empty list is 422", async () => {
    const a = await createContact(t, apiToken);
    const cases: [string, unknown, number, string][] = [
      ["/api/messages/send-private", { recipientId: a.id, message: "   " }, 422, MESSAGING_ERRORS.EMPTY_TEXT.message],
      ["/api/messages/send-bulk", { recipientIds: [a.id], message: "" }, 422, MESSAGING_ERRORS.EMPTY_TEXT.message],
      ["/api/messages/send-private", { recipientId: a.id, message: "y".repeat(4097) }, 422, MESSAGING_ERRORS.TEXT_TOO_LONG.message(4096)],
      ["/api/messages/send-bulk", { recipientIds: ["1", "2", "3", "4", "5", "6"], message: "hi" }, 413, MESSAGING_ERRORS.TOO_MANY_RECIPIENTS.message(5)],
      ["/api/messages/send-bulk", { recipientIds: [], message: "hi" }, 422, "recipientIds: must be a non-empty list of contact ids"],
      ["/api/messages/send-private", { message: "hi" }, 422, "recipientId: is required"],
    ];
    for (const [path, body, status, error] of cases) {
      const res = await t.request("POST", path, { token: apiToken, body });
      expect({ path, status: res.status, body: await json(res) }).toEqual({ path, status, body: { success: false, error } });
    }
  });

  test("queued messages are counted in metrics", async () => {
    const a = await createContact(t, apiToken);
    const before = t.ctx.metrics.counter("chatgate_messages_queued_total", "").get();
    await t.request("POST", "/api/messages/send-bulk", { token: apiToken, body: { recipientIds: [a.id], message: "count me" } });
    await settle();
    expect(t.ctx.metrics.counter("chatgate_messages_queued_total", "").get()).toBe(before + 1);
    expect(await (await t.request("GET", "/metrics")).text()).toContain("chatgate_messages_queued_total");
  });
});

describe("Idempotency-Key", () => {
  test("a retry with the same key and body returns the first answer and queues nothing new", async () => {
    const u = await seedUser(t);
    const a = await createContact(t, u.accessToken);
    const send = (message: string) =>
      t.request("POST", "/api/messages/send-bulk", { token: u.accessToken, body: { recipientIds: [a.id], message }, headers: { "idempotency-key": "order-42" } });
    const first = await json(await send("hello"));
    const again = await send("hello");
    expect(again.status).toBe(200);
    expect(await json(again)).toEqual(first);
    expect(await storedCount(u.user.id)).toBe(1);
    const other = await send("different");
    expect(other.status).toBe(409);
    expect(await json(other)).toEqual({ success: false, error: MESSAGING_ERRORS.IDEMPOTENCY_CONFLICT.message });
    expect(await storedCount(u.user.id)).toBe(1);
  });

  test("concurrent retries with one key queue once", async () => {
    const u = await seedUser(t);
    const a = await createContact(t, u.accessToken);
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        t.request("POST", "/api/messages/send-private", { token: u.accessToken, body: { recipientId: a.id, message: "once" }, headers: { "idempotency-key": "race-1" } }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
    expect(await storedCount(u.user.id)).toBe(1);
  });

  test("a failed request frees its key, so the corrected retry runs", async () => {
    const u = await seedUser(t);
    const a = await createContact(t, u.accessToken);
    const bad = await t.request("POST", "/api/messages/send-private", { token: u.accessToken, body: { recipientId: a.id, message: "" }, headers: { "idempotency-key": "k1" } });
    expect(bad.status).toBe(422);
    const again = await t.request("POST", "/api/messages/send-private", { token: u.accessToken, body: { recipientId: a.id, message: "" }, headers: { "idempotency-key": "k1" } });
    expect(again.status).toBe(422);
    expect(await storedCount(u.user.id)).toBe(0);
  });
});

describe("listing messages", () => {
  test("filters by status and recipient, paginates, and hides other senders' messages", async () => {
    const u = await seedUser(t);
    const other = await seedUser(t);
    const a = await createContact(t, u.accessToken);
    const b = await createContact(t, u.accessToken);
    await t.request("POST", "/api/messages/send-bulk", { token: u.accessToken, body: { recipientIds: [a.id, b.id], message: "1" } });
    await t.request("POST", "/api/messages/send-private", { token: u.accessToken, body: { recipientId: a.id, message: "2" } });
    const all = await json(await t.request("GET", "/api/messages", { token: u.accessToken }));
    expect(all).toMatchObject({ success: true, total: 3, limit: 50, offset: 0 });
    const toA = await json(await t.request("GET", `/api/messages?recipientId=${a.id}&status=queued&limit=1`, { token: u.accessToken }));
    expect(toA).toMatchObject({ total: 2, limit: 1 });
    expect(toA.messages).toHaveLength(1);
    expect(toA.messages[0]).toMatchObject({ recipientId: a.id, text: "2" });
    const sent = await json(await t.request("GET", "/api/messages?status=sent", { token: u.accessToken }));
    expect(sent.total).toBe(0);
    const bad = await t.request("GET", "/api/messages?status=lost", { token: u.accessToken });
    expect(bad.status).toBe(422);
    expect(await json(bad)).toEqual({ success: false, error: "status: must be queued, sent, failed or cancelled" });
    const theirs = await json(await t.request("GET", "/api/messages", { token: other.accessToken }));
    expect(theirs.total).toBe(0);
    const id = all.messages[0].id;
    const foreign = await t.request("GET", `/api/messages/${id}`, { token: other.accessToken });
    expect(foreign.status).toBe(404);
    expect(await json(foreign)).toEqual({ success: false, error: MESSAGING_ERRORS.MESSAGE_NOT_FOUND.message(id) });
  });
});
