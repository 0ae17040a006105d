// POST /api/messages/{id}/retry and /cancel: the outbox's state machine, guarded so that a
// message whose delivery is under way is never cancelled (it may be on the wire) and a retried
// message is delivered once. A real Outbox over the app's database drives the deliveries.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { auditEvents, messages } from "../../src/db/schema";
import { MESSAGING_ERRORS } from "../../src/messaging/errors";
import { messagingMetrics } from "../../src/messaging/metrics";
import { Outbox } from "../../src/messaging/outbox";
import type { DeliveryResult } from "../../src/db/leased-queue";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { createContact, mintApiToken } from "./helpers";

let t: TestApp;
let sender: SeededUser;
let token: string;
let admin: SeededUser;
let contactId: string;
beforeAll(async () => {
  t = await makeApp({ MESSAGE_TRANSPORT: "none" });
  sender = await seedUser(t);
  admin = await seedUser(t, { role: "admin" });
  token = await mintApiToken(t, sender.user);
  contactId = (await createContact(t, token, { name: "Grace <Recipient>" })).id;
}, 60_000);
afterAll(() => t.close());

const send = async (text = "hello") =>
  (await json(await t.request("POST", "/api/messages/send-private", { token, body: { recipientId: contactId, message: text } }))).messages[0].id as string;
const act = (id: string, what: "retry" | "cancel", as = token) => t.request("POST", `/api/messages/${id}/${what}`, { token: as });
const row = async (id: string) => (await t.ctx.db.select().from(messages).where(eq(messages.id, id)))[0]!;

/** An outbox over the test database whose deliveries the test releases by hand. */
function manualOutbox(maxAttempts = 3) {
  const delivered: string[] = [];
  let release: (r: DeliveryResult) => void = () => {};
  let started: () => void = () => {};
  const inFlight = new Promise<void>((r) => (started = r));
  const outbox = new Outbox({
    db: t.ctx.db,
    log: t.ctx.log,
    metrics: messagingMetrics(t.ctx.metrics),
    maxAttempts,
    retryBaseMs: 10,
    pollMs: 60_000,
    sendTimeoutMs: 10_000,
    transport: {
      name: "manual",
      deliver: (m) => {
        delivered.push(m.id);
        started();
        return new Promise<DeliveryResult>((r) => (release = r));
      },
    },
  });
  return { outbox, delivered, inFlight, release: (r: DeliveryResult) => release(r) };
}

describe("message retry and cancel", () => {
  test("the list names the recipient and says the transport; none leaves messages queued", async () => {
    const id = await send();
    const list = await json(await t.request("GET", "/api/messages", { token }));
    expect(list.transport).toBe("none");
    expect(list.messages.find((m: { id: string }) => m.id === id)).toMatchObject({ recipientId: contactId, recipientName: "Grace <Recipient>", status: "queued" });
    expect((await json(await t.request("GET", `/api/messages/${id}`, { token }))).message.recipientName).toBe("Grace <Recipient>");
  });

  test("cancel a queued message; cancelling again or retrying a queued one is 409 in words", async () => {
    const id = await send();
    expect((await act(id, "retry")).status).toBe(409);
    const res = await act(id, "cancel");
    expect(res.status).toBe(200);
    expect((await json(res)).message.status).toBe("cancelled");
    expect((await row(id)).status).toBe("cancelled");
    const again = await act(id, "cancel");
    expect(again.status).toBe(409);
    expect(await json(again)).toMatchObject({ success: false, error: MESSAGING_ERRORS.NOT_CANCELLABLE.message("cancelled") });
    // A cancelled message is never claimed.
    const { outbox, delivered } = manualOutbox();
    await t.ctx.db.update(messages).set({ status: "sent" }).where(sql`${messages.status} = 'queued' and ${messages.id} <> ${id}`);
    expect(await outbox.drainOnce()).toBe(0);
    expect(delivered).toEqual([]);
  });

  test("a message whose delivery is under way cannot be cancelled; it is sent once", async () => {
    const id = await send();
    const { outbox, delivered, inFlight, release } = manualOutbox();
    const pass = outbox.drainOnce();
    await inFlight;
    const refused = await act(id, "cancel");
    expect(refused.status).toBe(409);
    expect(await json(refused)).toMatchObject({ error: MESSAGING_ERRORS.IN_DELIVERY.message });
    release({ ok: true });
    expect(await pass).toBe(1);
    expect((await row(id)).status).toBe("sent");
    expect(delivered).toEqual([id]);
    expect((await act(id, "cancel")).status).toBe(409);
    expect((await act(id, "retry")).status).toBe(409);
  });

  test("retry a failed message: concurrent retries queue it once, with a fresh budget; it is delivered once", async () => {
    const id = await send();
    const first = manualOutbox(1);
    const pass = first.outbox.drainOnce();
    await first.inFlight;
    first.release({ ok: false, error: "receiver down" });
    await pass;
    expect(await row(id)).toMatchObject({ status: "failed", attempts: 1, lastError: "receiver down" });

    const answers = await Promise.all(Array.from({ length: 6 }, () => act(id, "retry")));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409, 409]);
    expect(await row(id)).toMatchObject({ status: "queued", attempts: 0 });

    const second = manualOutbox(1);
    const again = second.outbox.drainOnce();
    await second.inFlight;
    second.release({ ok: true });
    expect(await again).toBe(1);
    expect(second.delivered).toEqual([id]);
    expect((await row(id)).status).toBe("sent");
  });

  test("concurrent cancels: one wins; a cancelled message can be retried", async () => {
    const id = await send();
    const answers = await Promise.all(Array.from({ length: 6 }, () => act(id, "cancel")));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409, 409]);
    expect((await act(id, "retry")).status).toBe(200);
    expect((await row(id)).status).toBe("queued");
    await t.ctx.db.update(messages).set({ status: "sent" }).where(eq(messages.id, id));
  });

  test("each cancel and retry that changes a message leaves one audit row; a refused one leaves none", async () => {
    const id = await send();
    const rows = () => t.ctx.db.select().from(auditEvents).where(eq(auditEvents.targetId, id));
    expect((await act(id, "retry")).status).toBe(409);
    expect(await rows()).toEqual([]);
    await Promise.all(Array.from({ length: 4 }, () => act(id, "cancel")));
    expect((await act(id, "retry", admin.accessToken)).status).toBe(200);
    const got = (await rows()).sort((a, b) => a.action.localeCompare(b.action));
    expect(got.map((r) => [r.action, r.targetType, r.actorType, r.actorId, r.changes])).toEqual([
      ["message.cancelled", "message", "api_token", sender.user.id, { status: ["queued", "cancelled"] }],
      ["message.retried", "message", "user", admin.user.id, { status: ["cancelled", "queued"] }],
    ]);
    await t.ctx.db.update(messages).set({ status: "sent" }).where(eq(messages.id, id));
  });

  test("only the sender or an admin; hostile ids; credentials before anything else", async () => {
    const id = await send();
    const other = await seedUser(t);
    const otherToken = await mintApiToken(t, other.user);
    const notYours = await act(id, "cancel", otherToken);
    expect(notYours.status).toBe(404);
    expect(await json(notYours)).toMatchObject({ success: false, error: MESSAGING_ERRORS.MESSAGE_NOT_FOUND.message(id) });
    const readKey = await json(await t.request("POST", "/api/auth/api-keys", { token: admin.accessToken, body: { name: "r", user_id: sender.user.id, level: "read" } }));
    expect((await t.request("POST", `/api/messages/${id}/cancel`, { headers: { "x-api-key": readKey.key } })).status).toBe(403);
    expect((await t.request("POST", `/api/messages/${id}/cancel`)).status).toBe(401);
    expect((await act("x".repeat(65), "cancel")).status).toBe(422);
    expect((await act("msg_nope", "retry")).status).toBe(404);
    expect((await act(encodeURIComponent("' or 1=1 --"), "cancel")).status).toBe(404);
    expect((await row(id)).status).toBe("queued");
    // An admin may act on anyone's message.
    expect((await act(id, "cancel", admin.accessToken)).status).toBe(200);
  });
});
