import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { and, count, eq, inArray } from "drizzle-orm";
import { contacts, messages } from "../../src/db/schema";
import { newId } from "../../src/ids";
import { startWebhookReceiver, type WebhookReceiver } from "../doubles/webhook-receiver";
import { json, makeApp, seedUser, testDatabaseUrl, type TestApp } from "../helpers";
import { waitFor } from "./helpers";

const SECRET = "instances-webhook-secret";
const onPostgres = !!testDatabaseUrl();
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
}, 60_000);

/** An app on a database that outlives it: a schema of the test Postgres, or a PGlite data dir. */
const appOn = (where: { schema?: string; dir?: string }, env: Record<string, string>): Promise<TestApp> =>
  makeApp(env, where.schema ? { schema: where.schema } : { dataDir: where.dir! });

const webhookEnv = (r: WebhookReceiver) => ({
  MESSAGE_TRANSPORT: "webhook",
  MESSAGE_WEBHOOK_URL: r.url,
  MESSAGE_WEBHOOK_SECRET: SECRET,
  MESSAGE_POLL_MS: "20",
  MESSAGE_RETRY_BASE_MS: "10",
});

/** Contacts straight into the table: the HTTP path is covered elsewhere, this is about volume. */
async function seedContacts(t: TestApp, ownerId: string, n: number): Promise<string[]> {
  const rows = Array.from({ length: n }, (_, i) => ({ id: newId("ctc"), ownerId, name: `Contact ${i}` }));
  await t.ctx.db.insert(contacts).values(rows);
  return rows.map((r) => r.id);
}

describe("restart", () => {
  test("closing an instance mid-queue loses nothing: the next one on the same database delivers the rest once", async () => {
    const receiver = startWebhookReceiver(SECRET);
    cleanup.push(() => receiver.stop());
    let where: { schema?: string; dir?: string };
    if (onPostgres) {
      // Holds the schema for the whole test; it has no worker (transport none).
      const holder = await makeApp();
      cleanup.push(() => holder.close());
      where = { schema: holder.schema! };
    } else {
      const dir = mkdtempSync(join(tmpdir(), "chatgate-restart-"));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      where = { dir };
    }

    receiver.delayMs = 200;
    const a = await appOn(where, webhookEnv(receiver));
    const u = await seedUser(a);
    const ids = await seedContacts(a, u.user.id, 100);
    const sent = await json(await a.request("POST", "/api/messages/send-bulk", { token: u.accessToken, body: { recipientIds: ids, message: "survive a restart" } }));
    expect(sent.count).toBe(100);
    await waitFor(
      "first deliveries",
      async () => receiver.deliveries.size,
      (n) => n > 0,
    );
    await a.close();
    const afterA = receiver.deliveries.size;
    expect(afterA).toBeLessThan(100);

    receiver.delayMs = 0;
    const b = await appOn(where, webhookEnv(receiver));
    cleanup.push(() => b.close());
    const msgIds = sent.messages.map((m: any) => m.id);
    const queuedAtStart = (await b.ctx.db.select({ n: count() }).from(messages).where(eq(messages.status, "queued")))[0]!.n;
    expect(queuedAtStart).toBeGreaterThan(0);
    await waitFor(
      "all sent",
      async () => (await b.ctx.db.select({ n: count() }).from(messages).where(eq(messages.status, "sent")))[0]!.n,
      (n) => n === 100,
      30_000,
    );
    expect(new Set(receiver.deliveries.keys())).toEqual(new Set(msgIds));
    expect([...receiver.deliveries.values()].every((n) => n === 1)).toBe(true);
    expect(receiver.received).toHaveLength(100);
  }, 60_000);
});

describe("several instances", () => {
  test.if(onPostgres)(
    "two app instances on one Postgres deliver 200 messages exactly once between them",
    async () => {
      const receiver = startWebhookReceiver(SECRET);
      cleanup.push(() => receiver.stop());
      receiver.delayMs = 20;
      const holder = await makeApp({ MAX_RECIPIENTS: "1000" });
      cleanup.push(() => holder.close());
      const [a, b] = await Promise.all([appOn({ schema: holder.schema }, webhookEnv(receiver)), appOn({ schema: holder.schema }, webhookEnv(receiver))]);
      cleanup.push(
        () => a.close(),
        () => b.close(),
      );

      // Queued by a third instance without a worker, so both workers find them only by polling, together.
      const u = await seedUser(holder);
      const ids = await seedContacts(holder, u.user.id, 200);
      const sent = await json(await holder.request("POST", "/api/messages/send-bulk", { token: u.accessToken, body: { recipientIds: ids, message: "exactly once" } }));
      expect(sent.count).toBe(200);
      const msgIds: string[] = sent.messages.map((m: any) => m.id);
      await waitFor(
        "all sent",
        async () =>
          (
            await holder.ctx.db
              .select({ n: count() })
              .from(messages)
              .where(and(inArray(messages.id, msgIds), eq(messages.status, "sent")))
          )[0]!.n,
        (n) => n === 200,
        30_000,
      );
      expect(receiver.received).toHaveLength(200);
      expect(new Set(receiver.received.map((r) => r.id))).toEqual(new Set(msgIds));
      const rows = await holder.ctx.db.select({ attempts: messages.attempts }).from(messages).where(inArray(messages.id, msgIds));
      expect(rows.every((r) => r.attempts === 1)).toBe(true);
      // Each instance logs what it delivered; together exactly the 200.
      const sentBy = (t: TestApp) => t.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "message sent").length;
      expect(sentBy(a) + sentBy(b)).toBe(200);
    },
    60_000,
  );
});
