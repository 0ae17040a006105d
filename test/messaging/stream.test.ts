import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { messages } from "../../src/db/schema";
import { channelIdFor } from "../../src/messaging/transports/stream";
import { startStreamApiDouble, type StreamApiDouble } from "../doubles/stream-api";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { createContact, waitFor } from "./helpers";

const KEY = "stream-key-1";
const SECRET = "stream-secret-1-long-enough";
let stream: StreamApiDouble;
let t: TestApp;
let u: SeededUser;
beforeAll(async () => {
  stream = startStreamApiDouble(KEY, SECRET);
  t = await makeApp({
    MESSAGE_TRANSPORT: "stream",
    STREAM_API_KEY: KEY,
    STREAM_API_SECRET: SECRET,
    STREAM_BASE_URL: stream.url,
    MESSAGE_RETRY_BASE_MS: "10",
    MESSAGE_POLL_MS: "20",
  });
  u = await seedUser(t);
}, 60_000);
afterAll(async () => {
  await t.close();
  stream.stop();
}, 60_000);

const messageOf = async (id: string) => (await t.ctx.db.select().from(messages).where(eq(messages.id, id)))[0]!;

describe("stream transport", () => {
  test("creates the recipient, opens its channel and sends the text as the chatgate user", async () => {
    // Only admins may address another customer's `customer-<n>` (test/messaging/stream-ids.test.ts).
    const admin = await seedUser(t, { role: "admin" });
    const withId = await createContact(t, admin.accessToken, { name: "Ada", streamUserId: "customer-42" });
    const without = await createContact(t, admin.accessToken, { name: "Bo" });
    const sent = await json(
      await t.request("POST", "/api/messages/send-bulk", { token: admin.accessToken, body: { recipientIds: [withId.id, without.id], message: "Hello from chatgate" } }),
    );
    for (const m of sent.messages)
      await waitFor(
        "sent",
        () => messageOf(m.id),
        (r) => r.status === "sent",
      );
    expect(stream.unauthorized).toBe(0);
    expect(stream.users.get("customer-42")).toEqual({ id: "customer-42", name: "Ada", chatgate_name: "Ada" });
    expect(stream.users.get(`customer-${without.id}`)).toEqual({ id: `customer-${without.id}`, name: "Bo", chatgate_name: "Bo" });
    expect(stream.channels.get("messaging:chatgate-customer-42")).toEqual(["customer-42", "chatgate"]);
    const mine = stream.messages.filter((m) => sent.messages.some((s: any) => s.id === m.id));
    expect(mine).toHaveLength(2);
    expect(mine).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: sent.messages[0].id, channel: "messaging:chatgate-customer-42", text: "Hello from chatgate", userId: "chatgate" }),
        expect.objectContaining({ id: sent.messages[1].id, channel: `messaging:${channelIdFor(`customer-${without.id}`)}`, text: "Hello from chatgate", userId: "chatgate" }),
      ]),
    );
    expect(stream.calls).toContain("GET /users");
    expect(stream.calls).toContain("POST /users");
    expect(stream.calls).toContain("POST /channels/messaging/chatgate-customer-42/query");
    expect(stream.calls).toContain("POST /channels/messaging/chatgate-customer-42/message");
  });

  test("a Stream error is retried; the message is sent once", async () => {
    const c = await createContact(t, u.accessToken, { name: "Cy", streamUserId: "cy" });
    stream.failNext(2);
    const sent = await json(await t.request("POST", "/api/messages/send-private", { token: u.accessToken, body: { recipientId: c.id, message: "after errors" } }));
    const id = sent.messages[0].id;
    const row = await waitFor(
      "sent",
      () => messageOf(id),
      (r) => r.status === "sent",
    );
    expect(row.attempts).toBe(3);
    expect(stream.messages.filter((m) => m.id === id)).toHaveLength(1);
  });

  test("a retry of a message Stream already has counts as delivered (its id is the outbox id)", async () => {
    const c = await createContact(t, u.accessToken, { name: "Di", streamUserId: "di" });
    const sent = await json(await t.request("POST", "/api/messages/send-private", { token: u.accessToken, body: { recipientId: c.id, message: "twice?" } }));
    const id = sent.messages[0].id;
    await waitFor(
      "sent",
      () => messageOf(id),
      (r) => r.status === "sent",
    );
    // As if the answer had been lost: put it back in the queue.
    await t.ctx.db.update(messages).set({ status: "queued", sentAt: null }).where(eq(messages.id, id));
    t.ctx.services.messaging.outbox!.wake();
    const row = await waitFor(
      "sent again",
      () => messageOf(id),
      (r) => r.status === "sent",
    );
    expect(row.attempts).toBe(2);
    expect(stream.messages.filter((m) => m.id === id)).toHaveLength(1);
  });

  test("a wrong API secret is refused by the double and ends as failed with the error", async () => {
    const bad = await makeApp({
      MESSAGE_TRANSPORT: "stream",
      STREAM_API_KEY: KEY,
      STREAM_API_SECRET: "not-the-secret",
      STREAM_BASE_URL: stream.url,
      MESSAGE_RETRY_BASE_MS: "1",
      MESSAGE_POLL_MS: "20",
      MESSAGE_MAX_ATTEMPTS: "2",
    });
    try {
      const v = await seedUser(bad);
      const c = await createContact(bad, v.accessToken, { name: "Ed" });
      const sent = await json(await bad.request("POST", "/api/messages/send-private", { token: v.accessToken, body: { recipientId: c.id, message: "nope" } }));
      const id = sent.messages[0].id;
      const row = await waitFor(
        "failed",
        async () => (await bad.ctx.db.select().from(messages).where(eq(messages.id, id)))[0]!,
        (r) => r.status === "failed",
      );
      expect(row.attempts).toBe(2);
      expect(row.lastError).toStartWith("stream ");
      expect(row.lastError).toContain("Unauthorized");
      expect(row.lastError).not.toContain("http://");
      expect(stream.unauthorized).toBeGreaterThanOrEqual(2);
    } finally {
      await bad.close();
    }
  });
});
