import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, inArray } from "drizzle-orm";
import { messages } from "../../src/db/schema";
import { Outbox } from "../../src/messaging/outbox";
import { messagingMetrics } from "../../src/messaging/metrics";
import { WebhookTransport, webhookSignature } from "../../src/messaging/transports/webhook";
import { startWebhookReceiver, type WebhookReceiver } from "../doubles/webhook-receiver";
import { json, makeApp, seedUser, type TestApp } from "../helpers";
import { createContact, mintApiToken, waitFor } from "./helpers";

const SECRET = "webhook-shared-secret";
const apps: TestApp[] = [];
const receivers: WebhookReceiver[] = [];
afterAll(async () => {
  for (const a of apps) await a.close();
  for (const r of receivers) r.stop();
}, 60_000);

async function webhookApp(env: Record<string, string> = {}) {
  const receiver = startWebhookReceiver(SECRET);
  receivers.push(receiver);
  const t = await makeApp({
    MESSAGE_TRANSPORT: "webhook",
    MESSAGE_WEBHOOK_URL: receiver.url,
    MESSAGE_WEBHOOK_SECRET: SECRET,
    MESSAGE_RETRY_BASE_MS: "10",
    MESSAGE_POLL_MS: "20",
    ...env,
  });
  apps.push(t);
  const user = await seedUser(t);
  return { t, receiver, user, token: await mintApiToken(t, user.user) };
}

const messageOf = async (t: TestApp, id: string) => (await t.ctx.db.select().from(messages).where(eq(messages.id, id)))[0]!;

describe("webhook transport", () => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  let token: string;
  beforeAll(async () => {
    // A poll interval of ten minutes: delivery within the test proves the send request woke the worker.
    ({ t, receiver, token } = await webhookApp({ MESSAGE_POLL_MS: "600000" }));
  }, 60_000);

  test("delivers signed JSON right after the send request; the receiver verifies the signature", async () => {
    const ada = await createContact(t, token, { name: "Ada", email: "ada@example.test", phone: "+1", streamUserId: "su-1", attributes: { tier: "gold" } });
    const sent = await json(await t.request("POST", "/api/messages/send-private", { token, body: { recipientId: ada.id, message: "Hello Ada" } }));
    const id = sent.messages[0].id;
    await waitFor(
      "delivery",
      async () => (await messageOf(t, id)).status,
      (s) => s === "sent",
    );
    expect(receiver.rejected).toBe(0);
    const got = receiver.received.find((r) => r.id === id)!;
    expect(got.body).toEqual({
      id,
      recipient: { id: ada.id, name: "Ada", email: "ada@example.test", phone: "+1", stream_user_id: "su-1" },
      text: "Hello Ada",
      metadata: { sender_id: expect.any(String), template_id: null, attempt: 1, created_at: expect.any(String), attributes: { tier: "gold" } },
    });
    const row = await messageOf(t, id);
    expect(row).toMatchObject({ status: "sent", attempts: 1, lastError: null, lockedUntil: null });
    expect(row.sentAt).toBeInstanceOf(Date);
    const api = await json(await t.request("GET", `/api/messages/${id}`, { token }));
    expect(api.message).toMatchObject({ status: "sent", attempts: 1 });
    expect(messagingMetrics(t.ctx.metrics).sent.get()).toBeGreaterThanOrEqual(1);
  });

  test("the signature is HMAC-SHA256 of timestamp.body, so a receiver with another secret refuses it", async () => {
    expect(webhookSignature("k", "1700000000", '{"a":1}')).toBe(`sha256=${new Bun.CryptoHasher("sha256", "k").update('1700000000.{"a":1}').digest("hex")}`);
    const other = startWebhookReceiver("another-secret");
    receivers.push(other);
    const transport = new WebhookTransport(other.url, SECRET);
    const c = await createContact(t, token);
    const r = await transport.deliver(
      { id: "msg_x", senderId: "u", text: "t", templateId: null, attempt: 1, createdAt: new Date(), recipient: { ...c, createdAt: new Date(), updatedAt: new Date() } },
      AbortSignal.timeout(5000),
    );
    expect(r).toEqual({ ok: false, error: "webhook answered HTTP 401" });
    expect(other.rejected).toBe(1);
  });
});

describe("retries", () => {
  test("a receiver that fails twice then succeeds: attempts = 3, sent", async () => {
    const { t, receiver, token } = await webhookApp();
    receiver.failEachFirst(2);
    const c = await createContact(t, token);
    const sent = await json(await t.request("POST", "/api/messages/send-private", { token, body: { recipientId: c.id, message: "third time lucky" } }));
    const id = sent.messages[0].id;
    const row = await waitFor(
      "sent",
      () => messageOf(t, id),
      (m) => m.status === "sent",
    );
    expect(row).toMatchObject({ attempts: 3, lastError: null });
    expect(receiver.received.filter((r) => r.id === id).map((r) => r.body.metadata.attempt)).toEqual([1, 2, 3]);
    expect(receiver.deliveries.get(id)).toBe(1);
  });

  test("after MESSAGE_MAX_ATTEMPTS the message is failed with the last error", async () => {
    const { t, receiver, token } = await webhookApp({ MESSAGE_MAX_ATTEMPTS: "3" });
    receiver.failAlways(true);
    const c = await createContact(t, token);
    const sent = await json(await t.request("POST", "/api/messages/send-private", { token, body: { recipientId: c.id, message: "never" } }));
    const id = sent.messages[0].id;
    const row = await waitFor(
      "failed",
      () => messageOf(t, id),
      (m) => m.status === "failed",
    );
    expect(row).toMatchObject({ attempts: 3, lastError: "webhook answered HTTP 500", lockedUntil: null });
    expect(receiver.received.filter((r) => r.id === id)).toHaveLength(3);
    expect(messagingMetrics(t.ctx.metrics).failed.get()).toBe(1);
    const api = await json(await t.request("GET", `/api/messages?status=failed`, { token }));
    expect(api.messages.map((m: any) => [m.id, m.lastError])).toEqual([[id, "webhook answered HTTP 500"]]);
  });

  test("a receiver slower than MESSAGE_SEND_TIMEOUT_MS is a timeout, retried", async () => {
    const { t, receiver, token } = await webhookApp({ MESSAGE_SEND_TIMEOUT_MS: "100", MESSAGE_MAX_ATTEMPTS: "10" });
    receiver.delayMs = 1000;
    const c = await createContact(t, token);
    const sent = await json(await t.request("POST", "/api/messages/send-private", { token, body: { recipientId: c.id, message: "slow" } }));
    const id = sent.messages[0].id;
    const first = await waitFor(
      "a timed-out attempt",
      () => messageOf(t, id),
      (m) => m.lastError !== null,
    );
    expect(first.lastError).toBe("webhook timeout");
    receiver.delayMs = 0;
    const row = await waitFor(
      "sent",
      () => messageOf(t, id),
      (m) => m.status === "sent",
    );
    expect(row.attempts).toBeGreaterThanOrEqual(2);
  });
});

describe("claims", () => {
  test("a live claim is skipped; a lapsed one (a dead worker's) is taken over", async () => {
    // Queue with transport none so no worker races this test, then drive an Outbox by hand.
    const t = await makeApp();
    apps.push(t);
    const receiver = startWebhookReceiver(SECRET);
    receivers.push(receiver);
    const u = await seedUser(t);
    const c = await createContact(t, u.accessToken);
    const sent = await json(await t.request("POST", "/api/messages/send-private", { token: u.accessToken, body: { recipientId: c.id, message: "orphan" } }));
    const id = sent.messages[0].id;
    const outbox = new Outbox({
      db: t.ctx.db,
      transport: new WebhookTransport(receiver.url, SECRET),
      log: t.ctx.log,
      metrics: messagingMetrics(t.ctx.metrics),
      maxAttempts: 5,
      retryBaseMs: 10,
      pollMs: 1000,
      sendTimeoutMs: 5000,
    });
    await t.ctx.db
      .update(messages)
      .set({ attempts: 1, lockedUntil: new Date(Date.now() + 60_000) })
      .where(eq(messages.id, id));
    expect(await outbox.drainOnce()).toBe(0);
    await t.ctx.db
      .update(messages)
      .set({ lockedUntil: new Date(Date.now() - 1000) })
      .where(eq(messages.id, id));
    expect(await outbox.drainOnce()).toBe(1);
    expect(await messageOf(t, id)).toMatchObject({ status: "sent", attempts: 2 });
    expect(receiver.deliveries.get(id)).toBe(1);
  });

  test("several workers draining one table at once deliver each message exactly once", async () => {
    const t = await makeApp({ MAX_RECIPIENTS: "1000" });
    apps.push(t);
    const receiver = startWebhookReceiver(SECRET);
    receivers.push(receiver);
    const u = await seedUser(t);
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) ids.push((await createContact(t, u.accessToken, { name: `c${i}` })).id);
    const sent = await json(await t.request("POST", "/api/messages/send-bulk", { token: u.accessToken, body: { recipientIds: ids, message: "race" } }));
    expect(sent.count).toBe(60);
    const make = () =>
      new Outbox({
        db: t.ctx.db,
        transport: new WebhookTransport(receiver.url, SECRET),
        log: t.ctx.log,
        metrics: messagingMetrics(t.ctx.metrics),
        maxAttempts: 5,
        retryBaseMs: 10,
        pollMs: 1000,
        sendTimeoutMs: 5000,
        batchSize: 7,
      });
    const drainAll = async (o: Outbox) => {
      while ((await o.drainOnce()) > 0);
    };
    await Promise.all([make(), make(), make(), make()].map(drainAll));
    const rows = await t.ctx.db
      .select()
      .from(messages)
      .where(
        inArray(
          messages.id,
          sent.messages.map((m: any) => m.id),
        ),
      );
    expect(rows.every((r) => r.status === "sent" && r.attempts === 1)).toBe(true);
    expect(receiver.received).toHaveLength(60);
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(60);
  });
});

describe("transport none", () => {
  test("messages stay queued and /readyz says why", async () => {
    const t = await makeApp();
    apps.push(t);
    const u = await seedUser(t);
    const c = await createContact(t, u.accessToken);
    const sent = await json(await t.request("POST", "/api/messages/send-private", { token: u.accessToken, body: { recipientId: c.id, message: "wait" } }));
    await Bun.sleep(50);
    expect(await messageOf(t, sent.messages[0].id)).toMatchObject({ status: "queued", attempts: 0 });
    const ready = await json(await t.request("GET", "/readyz"));
    expect(ready).toMatchObject({ message_transport: "none", messages: "queued only: no MESSAGE_TRANSPORT configured" });
  });
});
