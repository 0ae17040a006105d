// Issue 16: a prediction costs the database one round trip before its upstream call (reservation,
// session and question together) and one after it (answer and settle or refund), with no
// transaction in between that would hold the user's balance row across round trips.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import type { FlowiseDouble } from "../doubles/flowise";
import { seedUser, testDatabaseUrl, type SeededUser } from "../helpers";
import { balanceOf, bodyText, post, reservations, seedChatflow, serve, setBalance, settled, startDouble, type Served } from "./helpers";
import { recordStatements, split, type StatementLog } from "./statements";

const FLOW = crypto.randomUUID();
let d: FlowiseDouble;
let s: Served;
let rec: StatementLog;

beforeAll(async () => {
  d = await startDouble([FLOW]);
  s = await serve(d, { MAX_STREAMS_PER_USER: "100" });
  await seedChatflow(s.t.ctx.db, FLOW, { cost: 2 });
  rec = recordStatements(s.t.ctx.db);
}, 30_000);
afterEach(() => d.reset());
afterAll(async () => {
  rec.uninstall();
  await s.stop();
  await d.stop();
});

async function fresh(balance: number): Promise<SeededUser> {
  const u = await seedUser(s.t);
  await seedChatflow(s.t.ctx.db, FLOW, { grant: [u.user.id] });
  await setBalance(s.t.ctx.db, u.user.id, balance);
  // The first prediction fills the chatflow-access cache; the counts below are the steady state.
  await bodyText(await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "warm" }, u.accessToken));
  await settled(s.t.ctx.db, u.user.id);
  return u;
}

async function counted(run: () => Promise<void>, userId: string) {
  rec.clear();
  await run();
  await settled(s.t.ctx.db, userId);
  const out = split(rec.entries);
  rec.clear();
  if (process.env.SHOW_STATEMENTS) console.log(JSON.stringify(out, null, 1));
  return out;
}

describe("database round trips per prediction", () => {
  test("JSON, new session: one statement before the upstream call, one after; charged once", async () => {
    const u = await fresh(10);
    const r = await counted(async () => {
      const res = await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "how many?" }, u.accessToken);
      expect(res.status).toBe(200);
      await res.json();
    }, u.user.id);
    expect(r.before).toHaveLength(1);
    expect(r.after).toHaveLength(1);
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(6);
  });

  test("JSON in a named session the user already has: still one before and one after", async () => {
    const u = await fresh(10);
    const first = await (await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "first" }, u.accessToken)).json();
    const r = await counted(async () => {
      const res = await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "again", session_id: first.session_id }, u.accessToken);
      expect(res.status).toBe(200);
      expect((await res.json()).session_id).toBe(first.session_id);
    }, u.user.id);
    expect(r.before).toHaveLength(1);
    expect(r.after).toHaveLength(1);
  });

  test("SSE: one before; after it the started mark (before the first token) and one finishing statement", async () => {
    const u = await fresh(10);
    d.setAnswer({ tokenCount: 5 });
    const r = await counted(async () => {
      const res = await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "stream", streaming: true }, u.accessToken);
      expect(res.status).toBe(200);
      expect(await bodyText(res)).toContain("tok4");
    }, u.user.id);
    expect(r.before).toHaveLength(1);
    expect(r.after).toHaveLength(2);
    expect(await reservations(s.t.ctx.db, u.user.id)).toEqual({ settled: 2 });
  });

  test("Flowise failing: the refund and the failed question are one statement", async () => {
    const u = await fresh(10);
    await d.setFault({ kind: "status500" });
    const r = await counted(async () => {
      const res = await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "fails" }, u.accessToken);
      expect(res.status).toBeGreaterThanOrEqual(500);
      await res.text();
    }, u.user.id);
    expect(r.before).toHaveLength(1);
    expect(r.after).toHaveLength(1);
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(8);
  });

  test("insufficient credits: one statement, 402, nothing written, Flowise not called", async () => {
    const u = await fresh(3);
    const calls = d.calls.prediction;
    const r = await counted(async () => {
      const res = await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "poor", session_id: crypto.randomUUID() }, u.accessToken);
      expect(res.status).toBe(402);
      await res.text();
    }, u.user.id);
    expect(r.before).toHaveLength(1);
    expect(r.after).toHaveLength(0);
    expect(d.calls.prediction).toBe(calls);
    const sessions = await (await fetch(`${s.base}/api/v1/chat/sessions`, { headers: { authorization: `Bearer ${u.accessToken}` } })).json();
    expect(sessions.sessions ?? sessions).toHaveLength(1);
  });

  test("an answer Postgres refuses (a NUL byte) still settles: the settlement does not share its failure", async () => {
    const u = await fresh(10);
    d.setAnswer({ tokens: ["nul\u0000", " byte"] });
    const res = await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "nul", streaming: true }, u.accessToken);
    expect(res.status).toBe(200);
    expect(await bodyText(res)).toContain(" byte");
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ settled: 2 });
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(6);
    expect(s.t.logs.some((l) => l.includes("storing the answer failed"))).toBe(true);
  });

  // A refund that stores an answer touches the session and the balance; a prediction starting in
  // the same session takes the balance, then the session. Both take them in that order, so many at
  // once in one session never deadlock (Postgres would abort one after deadlock_timeout).
  test("40 predictions at once in one session, each refunded with a stored error answer: no deadlock, balance exact", async () => {
    const u = await fresh(1000);
    const session = (await (await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "start" }, u.accessToken)).json()).session_id;
    await d.setFault({ kind: "errorFrame", message: "model down", afterStart: true }, FLOW);
    const before = await balanceOf(s.t.ctx.db, u.user.id);
    const logsFrom = s.t.logs.length;
    const statuses = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const res = await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "again", session_id: session, streaming: true }, u.accessToken);
        await bodyText(res);
        return res.status;
      }),
    );
    expect(statuses.every((x) => x === 200)).toBe(true);
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ settled: 2, refunded: 40 });
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(before);
    expect(s.t.logs.slice(logsFrom).filter((l) => /deadlock|storing the answer failed/.test(l))).toEqual([]);
  });

  // The reservation statement checks the session's owner in its snapshot; a creation by the owner
  // committed while the statement waits on the session's key must still leave nothing taken.
  test.if(Boolean(testDatabaseUrl()))("a session its owner creates while another user's prediction names it: 404, nothing taken", async () => {
    const alice = await fresh(10);
    const bob = await fresh(10);
    const sessionId = crypto.randomUUID();
    const pg = postgres(testDatabaseUrl()!, { max: 2, onnotice: () => {}, connection: { search_path: s.t.schema! } });
    try {
      let release!: () => void;
      let inserted!: () => void;
      const held = new Promise<void>((r) => (inserted = r));
      const owner = pg.begin(async (tx) => {
        await tx`insert into chat_sessions (id, user_id) values (${sessionId}, ${alice.user.id})`;
        inserted();
        await new Promise<void>((r) => (release = r));
      });
      await held;
      const attempt = post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "mine now?", session_id: sessionId }, bob.accessToken);
      // Bob's statement is waiting on Alice's uncommitted row.
      for (;;) {
        const [w] = await pg`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%foreign_session%'`;
        if (w!.n > 0) break;
        await Bun.sleep(10);
      }
      release();
      await owner;
      const res = await attempt;
      expect(res.status).toBe(404);
      await res.text();
      expect(await balanceOf(s.t.ctx.db, bob.user.id)).toBe(8);
      expect(await reservations(s.t.ctx.db, bob.user.id)).toEqual({ settled: 1 });
      const [q] = await pg`select count(*)::int as n from chat_messages where session_id = ${sessionId}`;
      expect(q!.n).toBe(0);
    } finally {
      await pg.end();
    }
  });
});
