// A message delivered while Postgres is briefly unreachable: its "sent" update fails, is retried
// once the database answers again, and the message is delivered once — not held for its lease and
// delivered again. The cut is made by a TCP proxy on the very statement. Runs with TEST_DATABASE_URL.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { messages } from "../../src/db/schema";
import { startWebhookReceiver, type WebhookReceiver } from "../doubles/webhook-receiver";
import { json, makeApp, seedUser, testDatabaseUrl, type TestApp } from "../helpers";
import { createContact, mintApiToken, waitFor } from "../messaging/helpers";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy";

const url = testDatabaseUrl();
const SECRET = "webhook-secret-write-back";

let proxy: TcpProxy;
let receiver: WebhookReceiver;
let t: TestApp;
let token: string;

describe.if(Boolean(url))("the outbox's write-back after a delivery", () => {
  beforeAll(async () => {
    const target = new URL(url!);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    receiver = startWebhookReceiver(SECRET);
    const proxied = new URL(url!);
    proxied.port = String(proxy.port);
    process.env.TEST_DATABASE_URL = proxied.toString();
    try {
      // A lease of 2 × 5 s + 30 s: a message whose write-back is abandoned waits 40 s, then goes again.
      t = await makeApp({
        MESSAGE_TRANSPORT: "webhook",
        MESSAGE_WEBHOOK_URL: receiver.url,
        MESSAGE_WEBHOOK_SECRET: SECRET,
        MESSAGE_SEND_TIMEOUT_MS: "5000",
        MESSAGE_POLL_MS: "50",
      });
    } finally {
      process.env.TEST_DATABASE_URL = url;
    }
    const user = await seedUser(t);
    token = await mintApiToken(t, user.user);
  }, 60_000);

  afterAll(async () => {
    await proxy?.setMode("open");
    await t?.close();
    await proxy?.stop();
    receiver?.stop();
  }, 30_000);

  test("the 'sent' update cut by a lost connection is retried: sent, delivered exactly once", async () => {
    const ada = await createContact(t, token, { name: "Ada", email: "ada@example.test" });
    // Only the outbox's "sent" UPDATE carries this text (src/db/leased-queue.ts).
    const cut = proxy.cutOn(`status = 'sent', sent_at = now()`);
    const sent = await json(await t.request("POST", "/api/messages/send-private", { token, body: { recipientId: ada.id, message: "Hello" } }));
    const id = sent.messages[0].id as string;
    await cut;
    await proxy.setMode("open");
    // The probe's own pooled connections were cut too: a failed probe is just "not yet".
    const probe = () =>
      t.ctx.db
        .select()
        .from(messages)
        .where(eq(messages.id, id))
        .then(
          (r) => r[0],
          () => undefined,
        );
    const row = await waitFor("sent", probe, (m) => m?.status === "sent", 30_000);
    expect(row!.attempts).toBe(1);
    expect(receiver.received.filter((r) => r.id === id).length).toBe(1);
  }, 60_000);
});
