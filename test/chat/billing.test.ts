// Charging and history against a Flowise that behaves as 3.1.2 does: `start` carries "" as soon as
// the model's stream opens, errors come as frames, the flow keeps running after a disconnect, and
// an unknown chatflow never answers a streamed request. Only answer content reaching the client
// is charged; whatever was not answered leaves its question marked `failed`.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { chatMessages } from "../../src/db/schema";
import type { FlowiseDouble } from "../doubles/flowise";
import { seedUser, type SeededUser } from "../helpers";
import { balanceOf, get, post, readStream, seedChatflow, serve, setBalance, settled, startDouble, type Served } from "./helpers";
import { CHAT_ERRORS } from "../../src/chat/errors";

const FLOW = crypto.randomUUID();
const NOT_IN_FLOWISE = crypto.randomUUID();
let d: FlowiseDouble;
let s: Served;

beforeAll(async () => {
  d = await startDouble([FLOW]);
  s = await serve(d, { FLOWISE_TIMEOUT: "1", SSE_HEARTBEAT_MS: "100" });
}, 30_000);
afterEach(() => d.reset());
afterAll(async () => {
  await s.stop();
  await d.stop();
});

async function fresh(flow = FLOW): Promise<SeededUser> {
  const u = await seedUser(s.t);
  await seedChatflow(s.t.ctx.db, flow, { cost: 3, grant: [u.user.id] });
  await setBalance(s.t.ctx.db, u.user.id, 10);
  return u;
}

const ask = (u: SeededUser, body: Record<string, unknown>, signal?: AbortSignal) =>
  post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "q", ...body }, u.accessToken, {}, signal);
type Ev = { event: string; data: unknown };
const eventsOf = (p: Awaited<ReturnType<typeof readStream>>) => p.parser.events.map((e) => JSON.parse(e.data) as Ev);
const sessionOf = () => (d.lastRequest("prediction")!.body as { chatId: string }).chatId;
const messages = (sid: string) => s.t.ctx.db.select().from(chatMessages).where(eq(chatMessages.sessionId, sid));
const answerOf = async (sid: string) =>
  (
    await s.t.ctx.db
      .select()
      .from(chatMessages)
      .where(and(eq(chatMessages.sessionId, sid), eq(chatMessages.role, "assistant")))
  )[0];

describe("a stream is charged only once answer content reached the client", () => {
  test('slow model: start "", heartbeats, then the timeout error → refunded, question failed, nothing stored as an answer', async () => {
    const u = await fresh();
    d.setAnswer({ tokens: ["late"], firstTokenDelayMs: 4000 });
    const p = await readStream(await ask(u, { streaming: true }));
    const events = eventsOf(p);
    expect(events.map((e) => e.event)).toEqual(["start", "error", "session_id", "end"]);
    expect(events[0]!.data).toBe("");
    expect(events[1]!.data).toBe(CHAT_ERRORS.FLOWISE_TIMEOUT.message);
    expect(p.parser.comments).toBeGreaterThan(0); // heartbeats while the model was silent
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ refunded: 1 });
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(10);
    const sid = sessionOf();
    expect(await answerOf(sid)).toBeUndefined();
    expect((await messages(sid)).map((m) => [m.role, m.status])).toEqual([["user", "failed"]]);
  });

  test('client leaving after start "" and before any token → refunded (Flowise keeps generating, nobody pays)', async () => {
    const u = await fresh();
    d.setAnswer({ tokens: ["a", "b"], firstTokenDelayMs: 300 });
    const ac = new AbortController();
    await readStream(await ask(u, { streaming: true }, ac.signal), (_t, parser) => {
      if (parser.events.some((e) => JSON.parse(e.data).event === "start")) ac.abort();
    }).catch(() => {});
    expect(await d.waitForAbort(3000)).toBe(1);
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ refunded: 1 });
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(10);
    expect(await d.waitForGenerations(1)).toBe(1);
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(10);
  });

  test('a normal 3.1.2 stream (start "" then tokens) is charged and stored complete', async () => {
    const u = await fresh();
    d.setAnswer({ tokens: ["Hel", "lo"] });
    const events = eventsOf(await readStream(await ask(u, { streaming: true })));
    expect(events.map((e) => e.event)).toEqual(["start", "token", "token", "metadata", "session_id", "end"]);
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ settled: 1 });
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(7);
    const sid = sessionOf();
    expect((await messages(sid)).map((m) => [m.role, m.status]).sort()).toEqual([
      ["assistant", "complete"],
      ["user", "complete"],
    ]);
  });
});

describe("Flowise error frames are stored as answers with status error", () => {
  test('start "" then an error frame → relayed, refunded, answer stored as error with Flowise\'s message, question failed', async () => {
    const u = await fresh();
    await d.setFault({ kind: "errorFrame", message: "Request timed out", afterStart: true });
    const events = eventsOf(await readStream(await ask(u, { streaming: true })));
    expect(events.map((e) => e.event)).toEqual(["start", "error", "session_id", "end"]);
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ refunded: 1 });
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(10);
    const sid = sessionOf();
    expect(await answerOf(sid)).toMatchObject({ content: "", status: "error", metadata: { error: "Request timed out" } });
    const history = (await (await get(s.base, `/api/v1/chat/sessions/${sid}/history`, u.accessToken)).json()) as { messages: { role: string; status: string }[] };
    expect(history.messages.map((m) => [m.role, m.status])).toEqual([
      ["user", "failed"],
      ["assistant", "error"],
    ]);
  });

  test("an error frame before anything else → stored as error too", async () => {
    const u = await fresh();
    await d.setFault({ kind: "errorFrame", message: "Bad flow", afterTokens: 0 });
    await readStream(await ask(u, { streaming: true }));
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ refunded: 1 });
    expect(await answerOf(sessionOf())).toMatchObject({ content: "", status: "error" });
  });
});

describe("failures before any answer leave the question marked failed", () => {
  test("HTTP 500 from Flowise (JSON) → 502, refunded, the session holds the question marked failed", async () => {
    const u = await fresh();
    await d.setFault({ kind: "status500" });
    expect((await ask(u, { streaming: false })).status).toBe(502);
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ refunded: 1 });
    const sid = sessionOf();
    expect((await messages(sid)).map((m) => [m.role, m.status])).toEqual([["user", "failed"]]);
  });

  test("a chatflow Flowise does not know, streamed: Flowise 3.1.2 never answers → 504 after FLOWISE_TIMEOUT, refunded", async () => {
    const u = await fresh(NOT_IN_FLOWISE);
    const res = await post(s.base, "/api/v1/chat/predict", { chatflow_id: NOT_IN_FLOWISE, question: "q", streaming: true }, u.accessToken);
    expect(res.status).toBe(504);
    expect(d.stats.hung).toBe(1);
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ refunded: 1 });
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(10);
  });
});

describe("a JSON answer turned into frames", () => {
  test('start carries "" like Flowise\'s, the text comes once, in token', async () => {
    const u = await fresh();
    d.setAnswer({ tokens: ["whole ", "answer"] });
    await d.setFault({ kind: "jsonWhenStreaming" });
    const events = eventsOf(await readStream(await ask(u, { streaming: true })));
    expect(events.slice(0, 2)).toEqual([
      { event: "start", data: "" },
      { event: "token", data: "whole answer" },
    ]);
    const texts = events
      .filter((e) => e.event === "start" || e.event === "token")
      .map((e) => e.data)
      .join("");
    expect(texts).toBe("whole answer");
  });

  test('an Idempotency-Key replay as frames: start "", the text once in token', async () => {
    const u = await fresh();
    d.setAnswer({ tokens: ["once"] });
    const key = { "idempotency-key": `k-${crypto.randomUUID()}` };
    await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "r" }, u.accessToken, key).then((r) => r.json());
    const replay = eventsOf(
      await readStream(await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "r" }, u.accessToken, { ...key, accept: "text/event-stream" })),
    );
    expect(replay.slice(0, 2)).toEqual([
      { event: "start", data: "" },
      { event: "token", data: "once" },
    ]);
  });
});
