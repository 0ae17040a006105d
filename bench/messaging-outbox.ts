// Messages queued and delivered per second, in one process: the app (PGlite, or Postgres with
// BENCH_DATABASE_URL on loopback), the outbox worker with the webhook transport, and a signing-
// verifying receiver on 127.0.0.1. Run: ./node_modules/.bin/bun run bench/messaging-outbox.ts
// Knobs: BENCH_MESSAGES (default 2000), BENCH_BATCH (recipients per send-bulk, default 100),
// BENCH_CONCURRENCY (send requests in flight, default 4), BENCH_INSTANCES (Postgres only, default 1).
import { createApp, createContext, stopContext } from "../src/app";
import { loadConfig } from "../src/config";
import { openDatabase } from "../src/db/client";
import { migrate } from "../src/db/migrate";
import { contacts, messages } from "../src/db/schema";
import { newId, randomBase62 } from "../src/ids";
import { createLogger } from "../src/http/logger";
import { issueSession } from "../src/identity/sessions";
import { toUserState } from "../src/identity/user-cache";
import { createUser } from "../src/identity/users";
import { count, eq } from "drizzle-orm";
import postgres from "postgres";
import { messagingMetrics } from "../src/messaging/metrics";
import { Outbox } from "../src/messaging/outbox";
import { WebhookTransport } from "../src/messaging/transports/webhook";
import { startWebhookReceiver } from "../test/doubles/webhook-receiver";

const N = Number(process.env.BENCH_MESSAGES ?? 2000);
const BATCH = Number(process.env.BENCH_BATCH ?? 100);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const url = process.env.BENCH_DATABASE_URL;
if (url && !["127.0.0.1", "localhost"].includes(new URL(url).hostname)) throw new Error("BENCH_DATABASE_URL must be loopback");
const INSTANCES = url ? Number(process.env.BENCH_INSTANCES ?? 1) : 1;
const SECRET = "bench-webhook-secret";

const receiver = startWebhookReceiver(SECRET);
const schema = url ? `bench_${randomBase62(10).toLowerCase()}` : undefined;
const env = {
  JWT_SECRET: "bench-secret-that-is-at-least-32-bytes-long!!",
  LOG_LEVEL: "error",
  MESSAGE_TRANSPORT: "webhook",
  MESSAGE_WEBHOOK_URL: receiver.url,
  MESSAGE_WEBHOOK_SECRET: SECRET,
  MESSAGE_POLL_MS: "20",
  MAX_RECIPIENTS: String(BATCH),
};

function pgliteWorker() {
  const c = front.ctx.config;
  const outbox = new Outbox({
    db: front.ctx.db,
    transport: new WebhookTransport(receiver.url, SECRET),
    log: front.ctx.log,
    metrics: messagingMetrics(front.ctx.metrics),
    maxAttempts: c.messageMaxAttempts,
    retryBaseMs: c.messageRetryBaseMs,
    pollMs: 20,
    sendTimeoutMs: c.messageSendTimeoutMs,
  });
  outbox.start();
  return { close: () => outbox.stop() };
}

async function instance(withWorker: boolean) {
  const config = loadConfig({ ...env, MESSAGE_TRANSPORT: withWorker ? "webhook" : "none" });
  const database = await openDatabase(url ? { databaseUrl: url, dataDir: "", schema } : { dataDir: "memory://" });
  await migrate(database.db);
  const ctx = await createContext(
    config,
    database,
    createLogger("error", () => {}),
  );
  return { ctx, app: createApp(ctx), close: async () => (await stopContext(ctx), await database.close()) };
}

// Queue through an instance without a worker so the two phases are measured apart. PGlite in
// memory is private to its instance, so there the delivery phase runs an Outbox on the same db.
const front = await instance(false);
const db = front.ctx.db;
const user = await createUser(db, { email: "bench@example.test", password: "bench-password", name: "Bench", role: "user" });
const { accessToken } = await issueSession(front.ctx, toUserState(user));
const ids = Array.from({ length: BATCH }, () => newId("ctc"));
await db.insert(contacts).values(ids.map((id, i) => ({ id, ownerId: user.id, name: `Contact ${i}` })));

const requests = Math.ceil(N / BATCH);
const send = () =>
  front.app.handle(
    new Request("http://localhost/api/messages/send-bulk", {
      method: "POST",
      headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ recipientIds: ids, message: "benchmark message" }),
    }),
  );
const q0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < requests) {
      const res = await send();
      if (res.status !== 200) throw new Error(`send-bulk ${res.status}: ${await res.text()}`);
    }
  }),
);
const queueSec = (performance.now() - q0) / 1000;
const queued = requests * BATCH;

const d0 = performance.now();
const workers = url ? await Promise.all(Array.from({ length: INSTANCES }, () => instance(true))) : [pgliteWorker()];
for (;;) {
  const [row] = await db.select({ n: count() }).from(messages).where(eq(messages.status, "sent"));
  if (row!.n >= queued) break;
  await Bun.sleep(20);
}
const deliverSec = (performance.now() - d0) / 1000;
const duplicates = receiver.received.length - receiver.deliveries.size;

console.log(
  JSON.stringify({
    database: url ? "postgres" : "pglite",
    instances: INSTANCES,
    messages: queued,
    recipients_per_request: BATCH,
    queued_per_sec: Math.round(queued / queueSec),
    delivered_per_sec: Math.round(queued / deliverSec),
    duplicate_deliveries: duplicates,
  }),
);

for (const w of workers) await w.close();
await front.close();
receiver.stop();
if (url && schema) {
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop schema if exists "${schema}" cascade`);
  await admin.end();
}
