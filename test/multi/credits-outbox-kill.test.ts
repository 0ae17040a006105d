// Two real chatgate processes on one fresh Postgres database sharing work: a balance for 37
// predictions under 200 concurrent ones spread over both, the outbox delivered exactly once with
// both workers running, and one instance SIGKILLed mid-stream while the other keeps serving and
// closes the dead stream's reservation. Runs only with TEST_DATABASE_URL.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { startFlowiseDouble, type FlowiseDouble } from "../doubles/flowise";
import { testDatabaseUrl } from "../helpers";
import { adminToken, call, freshDatabase, startPair, status, within, type Instance } from "./instances";

const url = testDatabaseUrl();
const FLOWISE_KEY = "flowise-key-multi";
const FAST = "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b";
const SLOW = "2f3e4d5c-6b7a-4899-8a1b-2c3d4e5f6a7b";
const BALANCE = 37;
const RACERS = 200;

let db: { url: string; drop(): Promise<void> } | undefined;
let sql: ReturnType<typeof postgres>;
let flowise: FlowiseDouble;
let receiver: ReturnType<typeof Bun.serve>;
const deliveries = new Map<string, number>();
let A: Instance;
let B: Instance;
let admin: string;

async function userWith(credits: number, flows: string[]): Promise<{ id: string; access: string }> {
  const email = `credits-${crypto.randomUUID().slice(0, 8)}@example.test`;
  const password = "user password 12345";
  const user = await call(A.base, "POST", "/api/auth/users", admin, { email, name: "Racer", password });
  for (const f of flows) await call(A.base, "PUT", `/api/admin/chatflows/${f}/users/${user.id}`, admin);
  await call(A.base, "POST", `/api/admin/users/${user.id}/credits`, admin, { amount: credits, reason: "multi test" });
  const login = await call(B.base, "POST", "/api/v1/chat/authenticate", undefined, { username: email, password });
  return { id: user.id, access: login.access_token };
}

const predict = (base: string, token: string, flow: string, streaming = false) =>
  fetch(`${base}/api/v1/chat/predict`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ chatflow_id: flow, question: "how many?", streaming }),
  });

describe.if(Boolean(url))("two instances sharing work", () => {
  beforeAll(async () => {
    db = await freshDatabase();
    sql = postgres(db.url, { max: 2, onnotice: () => {} });
    flowise = await startFlowiseDouble({
      apiKey: FLOWISE_KEY,
      chatflows: [
        { id: FAST, name: "fast" },
        { id: SLOW, name: "slow" },
      ],
      heartbeatMs: 0,
    });
    flowise.setAnswer({ tokenCount: 200, delayMs: 100 }, SLOW);
    receiver = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(req) {
        const id = req.headers.get("x-chatgate-message-id") ?? "none";
        deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
        return new Response("ok");
      },
    });
    [A, B] = await startPair({
      DATABASE_URL: db.url,
      FLOWISE_URL: flowise.url,
      FLOWISE_API_KEY: FLOWISE_KEY,
      MESSAGE_TRANSPORT: "webhook",
      MESSAGE_WEBHOOK_URL: `http://127.0.0.1:${receiver.port}/hook`,
      MESSAGE_WEBHOOK_SECRET: "webhook-secret-multi",
      RESERVATION_TIMEOUT: "5",
    });
    admin = await adminToken(A.base);
    for (const [id, name] of [
      [FAST, "fast"],
      [SLOW, "slow"],
    ])
      await call(A.base, "POST", "/api/admin/chatflows", admin, { id, name, cost: 1 });
  }, 120_000);

  afterAll(async () => {
    await A?.stop();
    await B?.stop();
    await sql?.end();
    receiver?.stop(true);
    await flowise?.stop();
    await db?.drop();
  }, 30_000);

  test(`${RACERS} concurrent predictions over both instances against a balance for ${BALANCE}: exactly ${BALANCE} succeed`, async () => {
    const u = await userWith(BALANCE, [FAST]);
    const before = flowise.calls.prediction;
    const results = await Promise.all(
      Array.from({ length: RACERS }, async (_, i) => {
        const res = await predict(i % 2 === 0 ? A.base : B.base, u.access, FAST);
        await res.arrayBuffer();
        return res.status;
      }),
    );
    const ok = results.filter((s) => s === 200).length;
    expect({ ok, paymentRequired: results.filter((s) => s === 402).length }).toEqual({ ok: BALANCE, paymentRequired: RACERS - BALANCE });
    const [balance] = await sql`select balance from credit_balances where user_id = ${u.id}`;
    expect(Number(balance!.balance)).toBe(0);
    const ledger = await sql`select kind, count(*)::int as n from credit_ledger where user_id = ${u.id} group by kind order by kind`;
    expect(ledger.map((r) => [r.kind, r.n])).toEqual([
      ["charge", BALANCE],
      ["grant", 1],
    ]);
    const held = await sql`select status, count(*)::int as n from credit_reservations where user_id = ${u.id} group by status`;
    expect(held.map((r) => [r.status, r.n])).toEqual([["settled", BALANCE]]);
    expect(flowise.calls.prediction - before).toBe(BALANCE);
  }, 120_000);

  test("the outbox delivers every message exactly once with both instances' workers running", async () => {
    const contacts: string[] = [];
    for (let i = 0; i < 25; i++) contacts.push((await call(A.base, "POST", "/api/contacts", admin, { name: `Contact ${i}` })).contact.id);
    const sent = await Promise.all([A, B, A, B].map((x, i) => call(x.base, "POST", "/api/messages/send-bulk", admin, { recipientIds: contacts, message: `bulk ${i}` })));
    const ids = sent.flatMap((r) => (r.messages as { id: string }[]).map((m) => m.id));
    expect(ids.length).toBe(100);
    await within(30_000, async () => ids.every((id) => deliveries.has(id)));
    await Bun.sleep(1000); // room for a duplicate to show up
    const twice = ids.filter((id) => deliveries.get(id) !== 1);
    expect(twice).toEqual([]);
    const rows = await sql`select status, count(*)::int as n from messages where id in ${sql(ids)} group by status`;
    expect(rows.map((r) => [r.status, r.n])).toEqual([["sent", 100]]);
  }, 60_000);

  test("an instance SIGKILLed mid-stream: the other keeps serving and closes the dead stream's reservation", async () => {
    const u = await userWith(10, [FAST, SLOW]);
    const res = await predict(A.base, u.access, SLOW, true);
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let seen = "";
    while (!seen.includes('"event":"token"')) seen += new TextDecoder().decode((await reader.read()).value);
    A.proc.kill("SIGKILL");
    await A.exited;
    await reader.read().catch(() => undefined);
    await flowise.waitForAbort(5000);
    expect(await status(B.base, "GET", "/healthz")).toBe(200);
    const other = await predict(B.base, u.access, FAST);
    expect(other.status).toBe(200);
    await other.arrayBuffer();
    // RESERVATION_TIMEOUT=5 plus one reconciler pass (every 5 s) on B.
    const ms = await within(30_000, async () => (await sql`select 1 from credit_reservations where user_id = ${u.id} and status = 'held'`).length === 0);
    console.log(`dead stream's reservation closed by B after ${ms} ms`);
    const [balance] = await sql`select balance from credit_balances where user_id = ${u.id}`;
    const [sum] = await sql`select coalesce(sum(delta), 0)::int as total from credit_ledger where user_id = ${u.id}`;
    const rows = await sql`select status from credit_reservations where user_id = ${u.id} order by created_at`;
    expect(Number(balance!.balance)).toBe(sum!.total);
    expect(rows.map((r) => r.status).every((s) => s === "settled" || s === "refunded")).toBe(true);
    // The dead stream had started: charged (settled), like any answer that began reaching the client.
    expect(rows.map((r) => r.status)).toEqual(["settled", "settled"]);
    expect(Number(balance!.balance)).toBe(8);
  }, 90_000);
});
