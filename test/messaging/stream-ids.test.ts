import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { contacts, messages } from "../../src/db/schema";
import { newId } from "../../src/ids";
import { startStreamApiDouble, type StreamApiDouble } from "../doubles/stream-api";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { createContact, waitFor } from "./helpers";

// Finding 2 of issue 13: a plain user addressed another customer's Stream id and chatgate
// overwrote that Stream user's profile with the attacker's name.
const KEY = "stream-key-ids";
const SECRET = "stream-secret-ids-long-enough";
let stream: StreamApiDouble;
let t: TestApp;
let admin: SeededUser;
let alice: SeededUser;
let bob: SeededUser;
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
  admin = await seedUser(t, { role: "admin" });
  alice = await seedUser(t);
  bob = await seedUser(t);
}, 60_000);
afterAll(async () => {
  await t.close();
  stream.stop();
}, 60_000);

const post = (who: SeededUser, body: Record<string, unknown>) => t.request("POST", "/api/contacts", { token: who.accessToken, body: { name: "Mallory", ...body } });
const messageOf = async (id: string) => (await t.ctx.db.select().from(messages).where(eq(messages.id, id)))[0]!;
const sendPrivate = (who: SeededUser, recipientId: string, message = "hi") =>
  t.request("POST", "/api/messages/send-private", { token: who.accessToken, body: { recipientId, message } });

describe("which Stream ids a contact may address", () => {
  test("a non-admin cannot address another customer's Stream id, the sender or a contact's default id", async () => {
    const other = `customer-${bob.user.customerId}`;
    for (const streamUserId of [other, other.toUpperCase(), "chatgate", "ChatGate", "customer-ctc_abc", "customer-0"]) {
      const res = await post(alice, { streamUserId });
      expect(res.status).toBe(403);
      const body = await json(res);
      expect(body.success).toBe(false);
      expect(body.error).toContain("Stream user id");
    }
    const mine = await createContact(t, alice.accessToken, { name: "Me", streamUserId: `customer-${alice.user.customerId}` });
    const patched = await t.request("PATCH", `/api/contacts/${mine.id}`, { token: alice.accessToken, body: { streamUserId: other } });
    expect(patched.status).toBe(403);
    expect((await t.ctx.db.select().from(contacts).where(eq(contacts.id, mine.id)))[0]!.streamUserId).toBe(`customer-${alice.user.customerId}`);
  });

  test("an id another owner's contact addresses belongs to that owner; admins may address any id", async () => {
    await createContact(t, admin.accessToken, { name: "Bob", streamUserId: `customer-${bob.user.customerId}` });
    await createContact(t, admin.accessToken, { name: "Jane", streamUserId: "agent-jane" });
    expect((await post(alice, { streamUserId: "agent-jane" })).status).toBe(403);
    await createContact(t, alice.accessToken, { name: "Pal", streamUserId: "pal-1" });
    await createContact(t, alice.accessToken, { name: "Pal again", streamUserId: "pal-1" });
    expect((await post(bob, { streamUserId: "pal-1" })).status).toBe(403);
  });

  test("a contact stored before the rule (or whose owner lost admin) is refused at send time, nothing queued", async () => {
    const id = newId("ctc");
    await t.ctx.db.insert(contacts).values({ id, ownerId: alice.user.id, name: "Old", streamUserId: `customer-${bob.user.customerId}` });
    const res = await sendPrivate(alice, id);
    expect(res.status).toBe(403);
    expect((await json(res)).error).toContain("Stream user id");
    expect(await t.ctx.db.select().from(messages).where(eq(messages.recipientId, id))).toHaveLength(0);
  });
});

describe("delivery never overwrites a Stream user it did not create", () => {
  test("existing recipient and sender profiles are left as they are", async () => {
    const victim = `customer-${bob.user.customerId}`;
    const bobProfile = { id: victim, name: "Bob Real", image: "https://img.example/bob.png", role: "user" };
    const senderProfile = { id: "chatgate", name: "Support Team", image: "https://img.example/support.png" };
    stream.users.set(victim, { ...bobProfile });
    stream.users.set("chatgate", { ...senderProfile });
    const c = await createContact(t, admin.accessToken, { name: "Imposter Name", streamUserId: victim });
    const sent = await json(await sendPrivate(admin, c.id, "hello Bob"));
    await waitFor(
      "sent",
      () => messageOf(sent.messages[0].id),
      (r) => r.status === "sent",
    );
    expect(stream.users.get(victim)).toEqual(bobProfile);
    expect(stream.users.get("chatgate")).toEqual(senderProfile);
    expect(stream.messages.find((m) => m.id === sent.messages[0].id)).toMatchObject({ userId: "chatgate", text: "hello Bob" });
  });

  test("a missing user is created; later only the name chatgate set is kept up to date", async () => {
    const c = await createContact(t, alice.accessToken, { name: "Carol", streamUserId: "carol-77" });
    const first = await json(await sendPrivate(alice, c.id));
    await waitFor(
      "sent",
      () => messageOf(first.messages[0].id),
      (r) => r.status === "sent",
    );
    expect(stream.users.get("carol-77")).toMatchObject({ id: "carol-77", name: "Carol" });

    await t.request("PATCH", `/api/contacts/${c.id}`, { token: alice.accessToken, body: { name: "Carol B" } });
    const second = await json(await sendPrivate(alice, c.id));
    await waitFor(
      "sent",
      () => messageOf(second.messages[0].id),
      (r) => r.status === "sent",
    );
    expect(stream.users.get("carol-77")).toMatchObject({ name: "Carol B" });

    // Carol renames herself in Stream: that is hers now, chatgate no longer touches it.
    stream.users.set("carol-77", { ...stream.users.get("carol-77"), name: "Caz", image: "https://img.example/caz.png" });
    await t.request("PATCH", `/api/contacts/${c.id}`, { token: alice.accessToken, body: { name: "Carol C" } });
    const third = await json(await sendPrivate(alice, c.id));
    await waitFor(
      "sent",
      () => messageOf(third.messages[0].id),
      (r) => r.status === "sent",
    );
    expect(stream.users.get("carol-77")).toMatchObject({ name: "Caz", image: "https://img.example/caz.png" });
  });
});
