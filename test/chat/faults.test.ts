// Every upstream fault, in both modes, with the balance checked afterwards.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { chatMessages } from "../../src/db/schema";
import type { Fault, FlowiseDouble } from "../doubles/flowise";
import { seedUser, type SeededUser } from "../helpers";
import { balanceOf, post, readStream, seedChatflow, serve, setBalance, settled, startDouble, type Served } from "./helpers";
import { CHAT_ERRORS } from "../../src/chat/errors";

const FLOW = crypto.randomUUID();
let d: FlowiseDouble;
let s: Served;

beforeAll(async () => {
  d = await startDouble([FLOW]);
  s = await serve(d, { FLOWISE_TIMEOUT: "1", SSE_HEARTBEAT_MS: "5000" });
}, 30_000);
afterEach(() => d.reset());
afterAll(async () => {
  await s.stop();
  await d.stop();
});

async function fresh(): Promise<SeededUser> {
  const u = await seedUser(s.t);
  await seedChatflow(s.t.ctx.db, FLOW, { cost: 3, grant: [u.user.id] });
  await setBalance(s.t.ctx.db, u.user.id, 10);
  return u;
}

const ask = (u: SeededUser, streaming: boolean) => post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "q", streaming }, u.accessToken);

const BEFORE_ANSWER: [string, Fault, number][] = [
  ["Flowise refusing connections → 503", { kind: "refuse" }, 503],
  ["no first byte within FLOWISE_TIMEOUT → 504", { kind: "delayFirstByte", ms: 1600 }, 504],
  ["an HTML page → 502", { kind: "html" }, 502],
  ["HTTP 500 → 502", { kind: "status500" }, 502],
  ["HTTP 429 → 503 with Retry-After", { kind: "status429", retryAfterSeconds: 7 }, 503],
];

describe("upstream failures before an answer: a status, a refund, nothing stored as an answer", () => {
  for (const [name, fault, status] of BEFORE_ANSWER) {
    for (const streaming of [false, true]) {
      test(`${name} (${streaming ? "SSE" : "JSON"})`, async () => {
        const u = await fresh();
        await d.setFault(fault);
        const res = await ask(u, streaming);
        expect(res.status).toBe(status);
        expect(res.headers.get("content-type")).toStartWith("application/json");
        const body = await res.json();
        expect(typeof body.detail).toBe("string");
        expect(JSON.stringify(body)).not.toContain("flowise-test-key");
        if (fault.kind === "status429") expect(res.headers.get("retry-after")).toBe("7");
        expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ refunded: 1 });
        expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(10);
      });
    }
  }

  test("Flowise rejecting chatgate's key → 502 and a refund", async () => {
    const wrong = await serve(d, { FLOWISE_API_KEY: "not-the-key" });
    try {
      const u = await seedUser(wrong.t);
      await seedChatflow(wrong.t.ctx.db, FLOW, { grant: [u.user.id] });
      await setBalance(wrong.t.ctx.db, u.user.id, 4);
      const res = await post(wrong.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "q" }, u.accessToken);
      expect(res.status).toBe(502);
      expect(await balanceOf(wrong.t.ctx.db, u.user.id)).toBe(4);
    } finally {
      await wrong.stop();
    }
  });

  test("a JSON answer cut half-way → 502 and a refund", async () => {
    const u = await fresh();
    await d.setFault({ kind: "dropMidStream", afterEvents: 1 });
    const res = await ask(u, false);
    expect(res.status).toBe(502);
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(10);
  });

  test("an error from Flowise in JSON mode (HTTP 500) → 502 and a refund", async () => {
    const u = await fresh();
    await d.setFault({ kind: "errorFrame", message: "LLM quota exceeded" });
    expect((await ask(u, false)).status).toBe(502);
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(10);
  });
});

const eventsOf = (p: Awaited<ReturnType<typeof readStream>>) => p.parser.events.map((e) => JSON.parse(e.data) as { event: string; data: unknown });
const lastAnswer = async () => {
  const sid = (d.lastRequest("prediction")!.body as { chatId: string }).chatId;
  const [m] = await s.t.ctx.db
    .select()
    .from(chatMessages)
    .where(and(eq(chatMessages.sessionId, sid), eq(chatMessages.role, "assistant")));
  return m;
};

describe("failures after the stream started: an error frame then end, never a hang", () => {
  test("dropped mid-answer after tokens: error + session_id + end; the started answer is charged and stored incomplete", async () => {
    const u = await fresh();
    d.setAnswer({ tokenCount: 6 });
    await d.setFault({ kind: "dropMidStream", afterEvents: 3 });
    const res = await ask(u, true);
    expect(res.status).toBe(200);
    const events = eventsOf(await readStream(res));
    expect(events.map((e) => e.event)).toEqual(["start", "token", "token", "error", "session_id", "end"]);
    expect(typeof events[3]!.data).toBe("string");
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ settled: 1 });
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(7);
    expect(await lastAnswer()).toMatchObject({ content: "tok0 tok1 ", status: "incomplete" });
  });

  test("dropped before any token: error + end, refunded", async () => {
    const u = await fresh();
    await d.setFault({ kind: "dropMidStream", afterEvents: 0 });
    const res = await ask(u, true);
    expect(res.status).toBe(200);
    const events = eventsOf(await readStream(res));
    expect(events.map((e) => e.event)).toEqual(["error", "session_id", "end"]);
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ refunded: 1 });
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(10);
  });

  test("Flowise's own error frame after tokens is relayed; charged, stored as error", async () => {
    const u = await fresh();
    await d.setFault({ kind: "errorFrame", message: "Tool failed", afterTokens: 2 });
    const events = eventsOf(await readStream(await ask(u, true)));
    expect(events.map((e) => e.event)).toEqual(["start", "token", "token", "error", "session_id", "end"]);
    expect(events[3]!.data).toBe("Tool failed");
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ settled: 1 });
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(7);
    expect(await lastAnswer()).toMatchObject({ content: "tok0 tok1 ", status: "error" });
  });

  test("Flowise's error frame before any token: relayed, refunded", async () => {
    const u = await fresh();
    await d.setFault({ kind: "errorFrame", message: "Bad flow", afterTokens: 0 });
    const events = eventsOf(await readStream(await ask(u, true)));
    expect(events.map((e) => e.event)).toEqual(["error", "session_id", "end"]);
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ refunded: 1 });
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(10);
  });

  test('Flowise going silent after start "" longer than FLOWISE_TIMEOUT: error + end, refunded (no answer content reached the client)', async () => {
    const u = await fresh();
    d.setAnswer({ tokenCount: 3 });
    await d.setFault({ kind: "slowDrip", ms: 1600 });
    const events = eventsOf(await readStream(await ask(u, true)));
    expect(events.map((e) => e.event)).toEqual(["start", "error", "session_id", "end"]);
    expect(events[1]!.data).toBe(CHAT_ERRORS.FLOWISE_TIMEOUT.message);
    expect(await d.waitForAbort(3000)).toBe(1);
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ refunded: 1 });
  });
});
