// Two real chatgate processes behind PgBouncer, in transaction mode (DATABASE_LISTEN_URL direct)
// and in session mode: a mixed load (predictions against balances, refresh rotation chains, bulk
// sends, grants) on both at once, then the SQL invariants — balances equal their ledgers, every
// acknowledged write is there, each message delivered once, refresh families consistent — and a
// revocation crossing instances within a second. Runs with TEST_DATABASE_URL and pgbouncer.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { startFlowiseDouble, type FlowiseDouble } from "../doubles/flowise";
import { testDatabaseUrl } from "../helpers";
import { adminToken, call, freshDatabase, startPair, status, within, type Instance } from "./instances";
import { PGBOUNCER, startPgBouncer, type Bouncer } from "./pgbouncer";

const url = testDatabaseUrl();
const FLOWISE_KEY = "flowise-key-bouncer";
const FLOW = "3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d";
const USERS = 4;
const BALANCE = 12;
const PREDICTIONS = 18;
const ROTATIONS = 8;
const CONTACTS = 20;
const BULKS = 4;

for (const mode of ["transaction", "session"] as const) {
  describe.if(Boolean(url && PGBOUNCER))(`two instances behind PgBouncer in ${mode} mode`, () => {
    let db: { url: string; drop(): Promise<void> } | undefined;
    let bouncer: Bouncer;
    let sql: ReturnType<typeof postgres>;
    let flowise: FlowiseDouble;
    let receiver: ReturnType<typeof Bun.serve>;
    const deliveries = new Map<string, number>();
    let A: Instance;
    let B: Instance;
    let admin: string;

    beforeAll(async () => {
      db = await freshDatabase();
      // Session mode pins a server per client connection: PgBouncer's pool must cover both
      // instances' pools and LISTEN connections (2 × (4 + 1)); transaction mode shares a few.
      bouncer = await startPgBouncer(db.url, { poolMode: mode, poolSize: mode === "session" ? 10 : 4 });
      sql = postgres(db.url, { max: 2, onnotice: () => {} });
      flowise = await startFlowiseDouble({ apiKey: FLOWISE_KEY, chatflows: [{ id: FLOW, name: "bouncer" }], heartbeatMs: 0 });
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
        DATABASE_URL: bouncer.url,
        DATABASE_POOLER: mode,
        DATABASE_POOL_SIZE: "4",
        ...(mode === "transaction" ? { DATABASE_LISTEN_URL: db.url } : {}),
        FLOWISE_URL: flowise.url,
        FLOWISE_API_KEY: FLOWISE_KEY,
        MESSAGE_TRANSPORT: "webhook",
        MESSAGE_WEBHOOK_URL: `http://127.0.0.1:${receiver.port}/hook`,
        MESSAGE_WEBHOOK_SECRET: "webhook-secret-bouncer",
      });
      admin = await adminToken(A.base);
      await call(A.base, "POST", "/api/admin/chatflows", admin, { id: FLOW, name: "bouncer", cost: 1 });
    }, 120_000);

    afterAll(async () => {
      await A?.stop();
      await B?.stop();
      await sql?.end();
      receiver?.stop(true);
      await flowise?.stop();
      await bouncer?.stop();
      await db?.drop();
    }, 30_000);

    test("a mixed load on both instances: every acknowledged write is in Postgres and the invariants hold", async () => {
      const users = await Promise.all(
        Array.from({ length: USERS }, async (_, i) => {
          const [x, y] = i % 2 ? [A, B] : [B, A];
          const email = `bouncer-${mode}-${i}-${crypto.randomUUID().slice(0, 6)}@example.test`;
          const password = "user password 12345";
          const user = await call(x.base, "POST", "/api/auth/users", admin, { email, name: `Bouncer ${i}`, password });
          await call(y.base, "PUT", `/api/admin/chatflows/${FLOW}/users/${user.id}`, admin);
          await call(x.base, "POST", `/api/admin/users/${user.id}/credits`, admin, { amount: BALANCE, reason: "bouncer test" });
          const login = await call(y.base, "POST", "/api/v1/chat/authenticate", undefined, { username: email, password });
          return { id: user.id as string, access: login.access_token as string, refresh: login.refresh_token as string };
        }),
      );
      const contacts: string[] = [];
      for (let i = 0; i < CONTACTS; i++) contacts.push((await call(i % 2 ? A.base : B.base, "POST", "/api/contacts", admin, { name: `Contact ${i}` })).contact.id);
      const predictionsBefore = flowise.calls.prediction;

      const predictions = users.map((u) =>
        Promise.all(
          Array.from({ length: PREDICTIONS }, async (_, i) => {
            const res = await fetch(`${(i % 2 ? A : B).base}/api/v1/chat/predict`, {
              method: "POST",
              headers: { authorization: `Bearer ${u.access}`, "content-type": "application/json" },
              body: JSON.stringify({ chatflow_id: FLOW, question: "through the pooler?" }),
            });
            await res.arrayBuffer();
            return res.status;
          }),
        ),
      );
      // Each rotation chain alternates instances; every step must be accepted.
      const rotations = users.map(async (u) => {
        let refresh = u.refresh;
        for (let i = 0; i < ROTATIONS; i++) {
          const r = await call((i % 2 ? A : B).base, "POST", "/api/v1/chat/refresh", undefined, { refresh_token: refresh });
          refresh = r.refresh_token;
        }
        return refresh;
      });
      const sends = Array.from({ length: BULKS }, (_, i) =>
        call((i % 2 ? A : B).base, "POST", "/api/messages/send-bulk", admin, { recipientIds: contacts, message: `bulk ${mode} ${i}` }),
      );
      const [statuses, lastRefresh, sent] = await Promise.all([Promise.all(predictions), Promise.all(rotations), Promise.all(sends)]);

      // Predictions: exactly the balance succeeded per user, the rest 402; Flowise called once per success.
      for (const s of statuses)
        expect({ ok: s.filter((x) => x === 200).length, refused: s.filter((x) => x === 402).length }).toEqual({ ok: BALANCE, refused: PREDICTIONS - BALANCE });
      expect(flowise.calls.prediction - predictionsBefore).toBe(USERS * BALANCE);
      const ids = users.map((u) => u.id);
      const balances = await sql`
        select b.user_id, b.balance::int as balance, coalesce(sum(l.delta), 0)::int as ledger,
               count(*) filter (where l.kind = 'charge')::int as charges, count(*) filter (where l.kind = 'grant')::int as grants
        from credit_balances b left join credit_ledger l on l.user_id = b.user_id
        where b.user_id in ${sql(ids)} group by b.user_id, b.balance`;
      expect(balances.length).toBe(USERS);
      for (const b of balances)
        expect({ balance: b.balance, ledger: b.ledger, charges: b.charges, grants: b.grants }).toEqual({ balance: 0, ledger: 0, charges: BALANCE, grants: 1 });

      // Refresh families: one chain per user, every rotation recorded, exactly one live token, and it works.
      const families = await sql`
        select user_id, count(*)::int as tokens, count(*) filter (where used_at is null and revoked_at is null)::int as live
        from refresh_tokens where user_id in ${sql(ids)} group by user_id`;
      for (const f of families) expect({ tokens: f.tokens, live: f.live }).toEqual({ tokens: ROTATIONS + 1, live: 1 });
      for (const [i, r] of lastRefresh.entries()) await call((i % 2 ? B : A).base, "POST", "/api/v1/chat/refresh", undefined, { refresh_token: r });

      // Messages: every acknowledged one stored, delivered exactly once, marked sent.
      const messageIds = sent.flatMap((r) => (r.messages as { id: string }[]).map((m) => m.id));
      expect(messageIds.length).toBe(CONTACTS * BULKS);
      await within(60_000, async () => messageIds.every((id) => deliveries.has(id)));
      await within(30_000, async () => (await sql`select count(*)::int as n from messages where id in ${sql(messageIds)} and status = 'sent'`)[0]!.n === messageIds.length);
      expect(messageIds.filter((id) => deliveries.get(id) !== 1)).toEqual([]);
    }, 180_000);

    test("a session revoked on A is refused by B within a second", async () => {
      const email = `bouncer-revoke-${mode}-${crypto.randomUUID().slice(0, 6)}@example.test`;
      const password = "user password 12345";
      await call(A.base, "POST", "/api/auth/users", admin, { email, name: "Revoked", password });
      const login = await call(A.base, "POST", "/api/v1/chat/authenticate", undefined, { username: email, password });
      const bearer = { authorization: `Bearer ${login.access_token}` };
      expect(await status(B.base, "GET", "/api/v1/chat/credits", bearer)).toBe(200);
      await call(A.base, "POST", "/api/v1/chat/revoke", login.access_token, {});
      const ms = await within(1000, async () => (await status(B.base, "GET", "/api/v1/chat/credits", bearer)) === 401);
      console.log(`${mode} mode: revocation on A refused by B after ${ms} ms`);
    }, 30_000);
  });
}
