import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { chatMessages } from "../../src/db/schema";
import { sseFrame, startFlowiseDouble, streamEvents, type FlowiseDouble } from "../doubles/flowise";
import { seedUser, type SeededUser } from "../helpers";
import { balanceOf, FLOWISE_KEY, post, readStream, seedChatflow, serve, setBalance, settled, startDouble, type Served } from "./helpers";

const FLOW = crypto.randomUUID();
let d: FlowiseDouble;
let s: Served;
let alice: SeededUser;

/** Each test its own user, so balances and reservations are that test's alone. */
async function fresh(balance: number): Promise<SeededUser> {
  alice = await seedUser(s.t);
  await seedChatflow(s.t.ctx.db, FLOW, { cost: 2, grant: [alice.user.id] });
  await setBalance(s.t.ctx.db, alice.user.id, balance);
  return alice;
}

beforeAll(async () => {
  d = await startDouble([FLOW]);
  s = await serve(d, { SSE_HEARTBEAT_MS: "25" });
}, 30_000);
afterEach(() => d.reset());
afterAll(async () => {
  await s.stop();
  await d.stop();
});

const stream = (body: Record<string, unknown>, opts: { headers?: Record<string, string>; signal?: AbortSignal } = {}) =>
  post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, streaming: true, ...body }, alice.accessToken, opts.headers, opts.signal);

/** What Flowise wrote for this answer, with chatgate's session_id frame before `end`. */
function expectedRelay(tokens: string[], question: string, sessionId: string, chatMessageId: string): string {
  const events = streamEvents({ tokens, question, chatId: sessionId, chatMessageId, sessionId });
  const frames = events.map((e) => sseFrame(e.event, e.data));
  frames.splice(frames.length - 1, 0, sseFrame("session_id", sessionId));
  return frames.join("");
}

const messagesOf = (sessionId: string) => s.t.ctx.db.select().from(chatMessages).where(eq(chatMessages.sessionId, sessionId));
const withoutHeartbeats = (raw: string) => raw.replaceAll(":heartbeat\n\n", "");

describe("POST /api/v1/chat/predict (SSE)", () => {
  test("relays Flowise's frames byte for byte with the session_id frame before end; SSE headers; answer stored; charged", async () => {
    await fresh(10);
    d.setAnswer({ tokens: ["Hel", "lo ", "wörld ✓"], chatMessageId: "cm-7" });
    const res = await stream({ question: "Greet me" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("x-accel-buffering")).toBe("no");
    const { raw, parser } = await readStream(res);
    const sid = JSON.parse(parser.events.find((e) => JSON.parse(e.data).event === "session_id")!.data).data as string;
    expect(withoutHeartbeats(raw)).toBe(expectedRelay(["Hel", "lo ", "wörld ✓"], "Greet me", sid, "cm-7"));
    expect((d.lastRequest("prediction")!.body as Record<string, unknown>).streaming).toBe(true);
    expect(await settled(s.t.ctx.db, alice.user.id)).toEqual({ settled: 1 });
    expect(await balanceOf(s.t.ctx.db, alice.user.id)).toBe(8);
    const msgs = await messagesOf(sid);
    expect(msgs.find((m) => m.role === "assistant")).toMatchObject({ content: "Hello wörld ✓", status: "complete" });
    expect(s.t.ctx.metrics.render()).toMatch(/chatgate_predictions_total\{mode="sse",result="ok"\} 1/);
  });

  test("Accept: text/event-stream asks for a stream too; an EventSource-style client reads every event in order", async () => {
    await fresh(10);
    d.setAnswer({ tokenCount: 4 });
    const res = await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "q" }, alice.accessToken, { accept: "text/event-stream" });
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    const { parser } = await readStream(res);
    const events = parser.events.map((e) => {
      expect(e.event).toBe("message");
      return JSON.parse(e.data) as { event: string; data: unknown };
    });
    expect(events.map((e) => e.event)).toEqual(["start", "token", "token", "token", "token", "metadata", "session_id", "end"]);
    expect(
      events
        .filter((e) => e.event === "token")
        .map((e) => e.data)
        .join(""),
    ).toBe("tok0 tok1 tok2 tok3 ");
    expect(events.at(-1)!.data).toBe("[DONE]");
  });

  test("frames reach the client while Flowise is still streaming (no buffering), with heartbeats while it is silent", async () => {
    await fresh(10);
    d.setAnswer({ tokenCount: 3, chatMessageId: "cm-h" });
    await d.setFault({ kind: "slowDrip", ms: 150 });
    let completedWhenFirstToken = -1;
    const res = await stream({ question: "slow" });
    const { raw, parser } = await readStream(res, (_t, p) => {
      if (completedWhenFirstToken < 0 && p.events.some((e) => JSON.parse(e.data).event === "token")) completedWhenFirstToken = d.stats.streamsCompleted;
    });
    expect(completedWhenFirstToken).toBe(0);
    expect(parser.comments).toBeGreaterThan(0);
    expect(raw).toContain(":heartbeat\n\n");
    const sid = JSON.parse(parser.events.find((e) => JSON.parse(e.data).event === "session_id")!.data).data as string;
    // Heartbeats fall between frames, never inside one.
    expect(withoutHeartbeats(raw)).toBe(expectedRelay(["tok0 ", "tok1 ", "tok2 "], "slow", sid, "cm-h"));
  });

  test("a long answer read by a slow client arrives complete and byte-exact (backpressure, no loss)", async () => {
    await fresh(10);
    d.setAnswer({ tokenCount: 4000, chatMessageId: "cm-big" });
    const res = await stream({ question: "long one" });
    const { raw, parser } = await readStream(res, () => Bun.sleep(1));
    const sid = JSON.parse(parser.events.find((e) => JSON.parse(e.data).event === "session_id")!.data).data as string;
    const tokens = Array.from({ length: 4000 }, (_, i) => `tok${i} `);
    expect(withoutHeartbeats(raw)).toBe(expectedRelay(tokens, "long one", sid, "cm-big"));
    expect(await settled(s.t.ctx.db, alice.user.id)).toEqual({ settled: 1 });
  });

  test("older Flowise framing (`message` without colon on end/error) and Flowise's own heartbeats pass through unchanged", async () => {
    const legacy = await startFlowiseDouble({ apiKey: FLOWISE_KEY, chatflows: [{ id: FLOW, name: "legacy" }], framing: "legacy", heartbeatMs: 40 });
    const app = await serve(legacy, { SSE_HEARTBEAT_MS: "600000" });
    try {
      const u = await seedUser(app.t);
      await seedChatflow(app.t.ctx.db, FLOW, { grant: [u.user.id] });
      await setBalance(app.t.ctx.db, u.user.id, 5);
      legacy.setAnswer({ tokens: ["x", "y"], chatMessageId: "cm-l" });
      await legacy.setFault({ kind: "slowDrip", ms: 100 });
      const res = await post(app.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "old", streaming: true }, u.accessToken);
      const { raw, parser } = await readStream(res);
      const sid = JSON.parse(parser.events.find((e) => JSON.parse(e.data).event === "session_id")!.data).data as string;
      const frames = streamEvents({ tokens: ["x", "y"], question: "old", chatId: sid, chatMessageId: "cm-l", sessionId: sid }).map((e) => sseFrame(e.event, e.data, "legacy"));
      frames.splice(frames.length - 1, 0, sseFrame("session_id", sid));
      expect(withoutHeartbeats(raw)).toBe(frames.join(""));
      expect(legacy.stats.heartbeats).toBeGreaterThan(0);
      expect(parser.comments).toBeGreaterThan(0);
    } finally {
      await app.stop();
      await legacy.stop();
    }
  });

  test("Flowise answering JSON although a stream was asked becomes start/token/metadata/session_id/end frames", async () => {
    await fresh(10);
    d.setAnswer({ tokens: ["whole ", "answer"], chatMessageId: "cm-j" });
    await d.setFault({ kind: "jsonWhenStreaming" });
    const res = await stream({ question: "json please" });
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    const { parser } = await readStream(res);
    const events = parser.events.map((e) => JSON.parse(e.data) as { event: string; data: any });
    expect(events.map((e) => e.event)).toEqual(["start", "token", "metadata", "session_id", "end"]);
    expect(events[1]!.data).toBe("whole answer");
    expect(events[2]!.data).toMatchObject({ chatMessageId: "cm-j", question: "json please" });
    expect(await settled(s.t.ctx.db, alice.user.id)).toEqual({ settled: 1 });
    expect(await balanceOf(s.t.ctx.db, alice.user.id)).toBe(8);
  });

  test("client going away mid-answer: Flowise sees the abort, the started answer is charged, the partial answer is stored incomplete", async () => {
    await fresh(10);
    d.setAnswer({ tokenCount: 50 });
    await d.setFault({ kind: "slowDrip", ms: 60 });
    const ac = new AbortController();
    const res = await stream({ question: "long" }, { signal: ac.signal });
    await readStream(res, (_t, p) => {
      const tokens = p.events.map((e) => JSON.parse(e.data)).filter((e) => e.event === "token");
      if (tokens.length >= 2) ac.abort();
    }).catch(() => {});
    expect(await d.waitForAbort(3000)).toBe(1);
    expect(d.stats.streamsCompleted).toBe(0);
    expect(await settled(s.t.ctx.db, alice.user.id)).toEqual({ settled: 1 });
    expect(await balanceOf(s.t.ctx.db, alice.user.id)).toBe(8);
    const sid = (d.lastRequest("prediction")!.body as { chatId: string }).chatId;
    const answer = (await messagesOf(sid)).find((m) => m.role === "assistant");
    expect(answer?.status).toBe("incomplete");
    expect(answer?.content).toStartWith("tok0 tok1 ");
    expect(answer!.content.length).toBeLessThan("tok0 ".length * 50);
  });

  test("client going away before Flowise answered: Flowise sees the abort and the reservation is refunded", async () => {
    await fresh(10);
    await d.setFault({ kind: "delayFirstByte", ms: 1500 });
    const ac = new AbortController();
    const pending = stream({ question: "never mind" }, { signal: ac.signal }).catch((e: unknown) => e);
    while (d.calls.prediction === 0) await Bun.sleep(10);
    ac.abort();
    await pending;
    expect(await d.waitForAbort(3000)).toBe(1);
    expect(await settled(s.t.ctx.db, alice.user.id)).toEqual({ refunded: 1 });
    expect(await balanceOf(s.t.ctx.db, alice.user.id)).toBe(10);
  });

  test("Idempotency-Key on a stream: the retry replays the stored answer as frames and charges once", async () => {
    await fresh(10);
    d.setAnswer({ tokens: ["a", "b"] });
    const key = { "idempotency-key": `k-${crypto.randomUUID()}` };
    const first = await readStream(await stream({ question: "once" }, { headers: key }));
    await settled(s.t.ctx.db, alice.user.id);
    const again = await readStream(await stream({ question: "once" }, { headers: key }));
    const tokens = (p: typeof first) =>
      p.parser.events
        .map((e) => JSON.parse(e.data))
        .filter((e) => e.event === "token")
        .map((e) => e.data)
        .join("");
    expect(tokens(first)).toBe("ab");
    expect(tokens(again)).toBe("ab");
    expect(d.calls.prediction).toBe(1);
    expect(await balanceOf(s.t.ctx.db, alice.user.id)).toBe(8);
  });
});
