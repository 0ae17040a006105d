// Every stream's end is one log line (outcome, frames, bytes, duration, session, reason): the access
// line goes out with the headers, so without it a stream that failed later leaves no trace. A client
// that went away is logged as 499 (client closed request), not as a 400 it never received.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { FlowiseDouble } from "../doubles/flowise";
import { seedUser, type SeededUser } from "../helpers";
import { post, readStream, seedChatflow, serve, setBalance, settled, startDouble, type Served } from "./helpers";
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
  await seedChatflow(s.t.ctx.db, FLOW, { cost: 1, grant: [u.user.id] });
  await setBalance(s.t.ctx.db, u.user.id, 10);
  return u;
}

const ask = (u: SeededUser, streaming: boolean, signal?: AbortSignal) =>
  post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "q", streaming }, u.accessToken, {}, signal);
const lines = () => s.t.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
const streamEnd = (requestId: string | null) => lines().find((l) => l.msg === "stream end" && l.request_id === requestId);

describe("the end of every stream is logged", () => {
  test("a complete stream: outcome complete, frames, bytes, duration, session, charged", async () => {
    const u = await fresh();
    d.setAnswer({ tokens: ["a", "b"] });
    const res = await ask(u, true);
    const { raw } = await readStream(res);
    await settled(s.t.ctx.db, u.user.id);
    const line = streamEnd(res.headers.get("x-request-id"));
    expect(line).toMatchObject({ level: "info", outcome: "complete", frames: 6, bytes: new TextEncoder().encode(raw).byteLength, charged: true, mode: "sse" });
    expect(typeof line!.duration_ms).toBe("number");
    expect(line!.session_id).toBe((d.lastRequest("prediction")!.body as { chatId: string }).chatId);
  });

  test("the connection to Flowise lost after the headers: outcome upstream_lost with the reason", async () => {
    const u = await fresh();
    d.setAnswer({ tokenCount: 6 });
    await d.setFault({ kind: "dropMidStream", afterEvents: 3 });
    const res = await ask(u, true);
    await readStream(res);
    await settled(s.t.ctx.db, u.user.id);
    expect(streamEnd(res.headers.get("x-request-id"))).toMatchObject({ outcome: "upstream_lost", reason: CHAT_ERRORS.FLOWISE_LOST.message, charged: true });
  });

  test("Flowise's error frame: outcome upstream_error with Flowise's message; a timeout: upstream_timeout", async () => {
    const u = await fresh();
    await d.setFault({ kind: "errorFrame", message: "model overloaded", afterStart: true });
    const res = await ask(u, true);
    await readStream(res);
    await settled(s.t.ctx.db, u.user.id);
    expect(streamEnd(res.headers.get("x-request-id"))).toMatchObject({ outcome: "upstream_error", reason: "model overloaded", charged: false });
    await d.setFault(null);
    d.setAnswer({ tokens: ["x"], firstTokenDelayMs: 3000 });
    const slow = await ask(u, true);
    await readStream(slow);
    await settled(s.t.ctx.db, u.user.id);
    expect(streamEnd(slow.headers.get("x-request-id"))).toMatchObject({ outcome: "upstream_timeout", reason: CHAT_ERRORS.FLOWISE_TIMEOUT.message });
  });

  test("a key quoted in Flowise's error text is not logged", async () => {
    const u = await fresh();
    await d.setFault({ kind: "errorFrame", message: "401 Incorrect API key provided: sk-proj-AbCdEf0123456789 (Bearer abc.def)" });
    const res = await ask(u, true);
    await readStream(res);
    await settled(s.t.ctx.db, u.user.id);
    const line = streamEnd(res.headers.get("x-request-id"));
    expect(line).toMatchObject({ outcome: "upstream_error" });
    expect(String(line!.reason)).not.toContain("AbCdEf0123456789");
    expect(String(line!.reason)).not.toContain("abc.def");
    expect(String(line!.reason)).toStartWith("401 Incorrect API key provided: [redacted]");
  });

  test("the client leaving mid-stream: outcome client_gone", async () => {
    const u = await fresh();
    d.setAnswer({ tokenCount: 40, delayMs: 30 });
    const ac = new AbortController();
    const res = await ask(u, true, ac.signal);
    const id = res.headers.get("x-request-id");
    await readStream(res, (_t, p) => {
      if (p.events.some((e) => JSON.parse(e.data).event === "token")) ac.abort();
    }).catch(() => {});
    await settled(s.t.ctx.db, u.user.id);
    expect(streamEnd(id)).toMatchObject({ outcome: "client_gone", charged: true });
  });
});

describe("a client disconnect is not a 400", () => {
  test("leaving while chatgate waits for Flowise: the request line says 499, no 400", async () => {
    const u = await fresh();
    await d.setFault({ kind: "delayFirstByte", ms: 800 });
    const ac = new AbortController();
    const id = `gone-${crypto.randomUUID()}`;
    const pending = post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "q" }, u.accessToken, { "x-request-id": id }, ac.signal).catch(() => null);
    while (d.calls.prediction === 0) await Bun.sleep(5);
    ac.abort();
    await pending;
    await d.waitForAbort(3000);
    await settled(s.t.ctx.db, u.user.id);
    let line: Record<string, unknown> | undefined;
    for (let i = 0; i < 200 && !line; i++) {
      line = lines().find((l) => l.msg === "request" && l.request_id === id);
      if (!line) await Bun.sleep(10);
    }
    expect(line).toMatchObject({ status: 499, client_closed: true });
  });
});
