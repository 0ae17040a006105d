// Each usage counter fed by the real flow it counts: logins (ok, refused, unknown account),
// refreshes, predictions (charged, Flowise failing, too few credits, a brain question through a
// chat token), chat tokens, Stream tokens, admin API tokens, rate-limited requests and errors.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { usageRollups } from "../../src/db/schema";
import type { FlowiseDouble } from "../doubles/flowise";
import { post, readStream, seedChatflow, serve, setBalance, startDouble, type Served } from "../chat/helpers";
import { json, seedUser, within, type SeededUser } from "../helpers";
import { adminOf, createKey } from "../keys/helpers";

const FLOW = crypto.randomUUID();
const STREAM_KEY = "j46xbwqsrzsk";
const STREAM_SECRET = "stream-secret-for-tests-0123456789abcdef";

let d: FlowiseDouble;
let s: Served;
let admin: SeededUser;

beforeAll(async () => {
  d = await startDouble([FLOW]);
  s = await serve(d, { STREAM_API_KEY: STREAM_KEY, STREAM_API_SECRET: STREAM_SECRET, USAGE_FLUSH_MS: "3600000" });
  await seedChatflow(s.t.ctx.db, FLOW, { cost: 3, name: "Usage flow" });
  admin = await adminOf(s.t);
}, 60_000);
afterEach(() => d.reset());
afterAll(async () => {
  await s.stop();
  await d.stop();
});

type Totals = Record<string, number>;

/** Every counter summed over the series of one user, key or chatflow (the admin API, flushed first). */
async function usageOf(group: "user" | "key" | "chatflow", id: string): Promise<Totals> {
  const res = await fetch(`${s.base}/api/admin/usage?group_by=${group}&id=${id}`, { headers: { authorization: `Bearer ${admin.accessToken}` } });
  expect(res.status).toBe(200);
  const out: Totals = {};
  for (const p of (await json(res)).series) {
    for (const [k, v] of Object.entries(p)) if (typeof v === "number") out[k] = (out[k] ?? 0) + v;
    for (const [k, v] of Object.entries(p.tokens_by_kind as Totals)) out[`tokens_${k}`] = (out[`tokens_${k}`] ?? 0) + v;
  }
  return out;
}

/** Only the counters named (the rest must be zero or absent). */
function only(totals: Totals, want: Totals): void {
  const nonZero = Object.fromEntries(Object.entries(totals).filter(([, v]) => v !== 0));
  expect(nonZero).toEqual(want);
}

async function fresh(balance = 10): Promise<SeededUser> {
  const u = await seedUser(s.t);
  await seedChatflow(s.t.ctx.db, FLOW, { grant: [u.user.id] });
  await setBalance(s.t.ctx.db, u.user.id, balance);
  return u;
}

const predict = (u: SeededUser, question = "hello?") => post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question }, u.accessToken);

describe("usage counters, fed by the real flows", () => {
  test("logins: ok (access + refresh tokens), wrong password, unknown account; a refresh issues two more", async () => {
    const u = await seedUser(s.t);
    const login = (username: string, password: string) => post(s.base, "/api/auth/token", { username, password });
    const ok = await login(u.user.email, u.password);
    expect(ok.status).toBe(200);
    const tokens = await ok.json();
    expect((await login(u.user.email, "wrong password 123")).status).toBe(401);
    expect((await login(`nobody-${crypto.randomUUID()}@example.test`, "whatever 123")).status).toBe(401);
    const refreshed = await post(s.base, "/api/v1/chat/refresh", { refresh_token: tokens.refresh_token });
    expect(refreshed.status).toBe(200);
    only(await usageOf("user", u.user.id), { logins: 1, failed_logins: 1, tokens_issued: 4, tokens_access: 2, tokens_refresh: 2 });
  });

  test("predictions: two charged, one Flowise failure (502), one without credits (402); requests and errors", async () => {
    const u = await fresh(10);
    expect((await predict(u)).status).toBe(200);
    expect((await predict(u)).status).toBe(200);
    await d.setFault({ kind: "status500" }, FLOW);
    expect((await predict(u)).status).toBe(502);
    await d.setFault(null, FLOW);
    await setBalance(s.t.ctx.db, u.user.id, 2);
    expect((await predict(u)).status).toBe(402);
    const mine = await usageOf("user", u.user.id);
    only(mine, { requests: 4, predictions: 4, failed_predictions: 2, credits_spent: 6, errors: 2, server_errors: 1 });
    const flow = await usageOf("chatflow", FLOW);
    expect(flow.credits_spent).toBeGreaterThanOrEqual(6);
    expect(flow.requests ?? 0).toBe(0);
  });

  test("a chat token (per key and brain), then a brain question asked with it, counted for the key", async () => {
    const u = await fresh(10);
    const key = await createKey(s.t, { level: "write", owner: u });
    const minted = await fetch(`${s.base}/api-key/chat-token?brain_id=${FLOW}`, { method: "POST", headers: { "x-api-key": key.key } });
    expect(minted.status).toBe(200);
    const chatToken = (await minted.json()).token as string;
    const chat = await (await post(s.base, "/chat", { name: "usage" }, u.accessToken)).json();
    const asked = await post(s.base, `/chat/${chat.chat_id}/question/stream?brain_id=${FLOW}`, { question: "hi" }, chatToken);
    expect(asked.status).toBe(200);
    await readStream(asked);
    // The stream's settle runs as it ends: poll rather than race it.
    expect(await within(5000, async () => (await usageOf("key", key.id)).predictions === 1)).toBe(true);
    only(await usageOf("key", key.id), { requests: 2, tokens_issued: 1, tokens_chat: 1, predictions: 1, credits_spent: 3 });
    const user = await usageOf("user", u.user.id);
    // POST /chat was made with the user's access token: a request of the user, not of the key.
    expect([user.requests, user.tokens_chat, user.predictions]).toEqual([3, 1, 1]);
  });

  test("a Stream token and an admin-issued API token count for the user they are for", async () => {
    const u = await seedUser(s.t);
    const stream = await post(s.base, "/stream-chat/token", { customer_id: u.user.customerId }, u.accessToken);
    expect(stream.status).toBe(200);
    const api = await post(s.base, "/api/admin/tokens", { userId: u.user.id }, admin.accessToken);
    expect(api.status).toBe(200);
    only(await usageOf("user", u.user.id), { requests: 1, tokens_issued: 2, tokens_stream: 1, tokens_api: 1 });
  });

  test("rate-limited requests: what the gate refused with 429, per key; they are requests and errors too", async () => {
    const u = await seedUser(s.t);
    const key = await createKey(s.t, { level: "read", owner: u, body: { rate_limit: { limit: 2, window_s: 3600 } } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${s.base}/api/auth/validate`, { headers: { "x-api-key": key.key } })).status);
    expect(statuses).toEqual([200, 200, 429, 429, 429]);
    only(await usageOf("key", key.id), { requests: 5, rate_limited: 3, errors: 3 });
  });

  test("a known caller refused 403 (not an admin, a key's level too low) counts the request and the error as theirs", async () => {
    const u = await seedUser(s.t);
    const key = await createKey(s.t, { level: "read", owner: u });
    expect((await fetch(`${s.base}/api/admin/usage`, { headers: { authorization: `Bearer ${u.accessToken}` } })).status).toBe(403);
    expect((await fetch(`${s.base}/api-key/chat-token?brain_id=${FLOW}`, { method: "POST", headers: { "x-api-key": key.key } })).status).toBe(403);
    only(await usageOf("user", u.user.id), { requests: 2, errors: 2 });
    only(await usageOf("key", key.id), { requests: 1, errors: 1 });
  });

  test("error responses of anonymous callers count without a user", async () => {
    const before = (await json(await fetch(`${s.base}/api/admin/usage?group_by=user`, { headers: { authorization: `Bearer ${admin.accessToken}` } }))).series;
    const anon = (series: { id: string | null; errors: number }[]) => series.filter((p) => p.id === null).reduce((n, p) => n + p.errors, 0);
    for (let i = 0; i < 3; i++) expect((await fetch(`${s.base}/api/auth/me`)).status).toBe(401);
    const after = (await json(await fetch(`${s.base}/api/admin/usage?group_by=user`, { headers: { authorization: `Bearer ${admin.accessToken}` } }))).series;
    expect(anon(after) - anon(before)).toBe(3);
  });

  // Last: it stops this app's usage worker (the routes still flush before answering).
  test("stopping (shutdown) writes what was counted since the last flush", async () => {
    const u = await seedUser(s.t);
    for (let i = 0; i < 4; i++) expect((await fetch(`${s.base}/api/auth/me`, { headers: { authorization: `Bearer ${u.accessToken}` } })).status).toBe(200);
    const stored = async () => {
      const rows = await s.t.ctx.db.select({ n: usageRollups.requests }).from(usageRollups).where(eq(usageRollups.userId, u.user.id));
      return rows.reduce((n, r) => n + r.n, 0);
    };
    // Not written yet: this app flushes hourly (and before a usage query, none made here).
    expect(await stored()).toBe(0);
    await s.t.ctx.workers.find((w) => w.name === "usage")!.stop();
    expect(await stored()).toBe(4);
  });
});
