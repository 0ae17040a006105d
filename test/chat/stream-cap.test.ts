import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { FlowiseDouble } from "../doubles/flowise";
import { seedUser, type SeededUser } from "../helpers";
import { waitFor } from "../messaging/helpers";
import { balanceOf, post, readStream, seedChatflow, serve, setBalance, settled, startDouble, type Served } from "./helpers";
import { CHAT_ERRORS } from "../../src/chat/errors";

// Issue 13, finding 11: one user held 300 concurrent SSE streams. MAX_STREAMS_PER_USER caps the
// predict stream and the brain question stream together; every way a stream ends frees its slot.
const FLOW = crypto.randomUUID();
const MAX = 3;
let d: FlowiseDouble;
let s: Served;

beforeAll(async () => {
  d = await startDouble([FLOW]);
  // Flowise sends one frame, then nothing for a minute: the streams stay open until the test ends them.
  s = await serve(d, { MAX_STREAMS_PER_USER: String(MAX), FLOWISE_TIMEOUT: "120", SSE_HEARTBEAT_MS: "1000" });
}, 30_000);
afterEach(() => d.reset());
afterAll(async () => {
  await s.stop();
  await d.stop();
});

async function fresh(balance = 100): Promise<SeededUser> {
  const u = await seedUser(s.t);
  await seedChatflow(s.t.ctx.db, FLOW, { cost: 1, grant: [u.user.id] });
  await setBalance(s.t.ctx.db, u.user.id, balance);
  return u;
}

interface Open {
  res: Response;
  abort: AbortController;
}

/** A predict stream that has relayed its first frame (so it is open end to end). */
async function openStream(u: SeededUser): Promise<Open> {
  const abort = new AbortController();
  const res = await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "hold on", streaming: true }, u.accessToken, {}, abort.signal);
  expect(res.status).toBe(200);
  const first = await res.body!.getReader().read();
  expect(first.done).toBe(false);
  return { res, abort };
}

const inUse = (u: SeededUser) => s.t.ctx.services.chat.pipeline.streams.inUse(u.user.id);
const slotsDropTo = (u: SeededUser, n: number) =>
  waitFor(
    `${n} open streams`,
    async () => inUse(u),
    (v) => v === n,
  );
const brainAsk = (u: SeededUser) => post(s.base, `/chat/${crypto.randomUUID()}/question/stream?brain_id=${FLOW}`, { question: "q" }, u.accessToken);

async function expect429(res: Response): Promise<void> {
  expect(res.status).toBe(429);
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(await res.json()).toEqual({ detail: CHAT_ERRORS.TOO_MANY_STREAMS.message(MAX) });
}

describe("MAX_STREAMS_PER_USER", () => {
  test("N open, N+1 refused (429 with Retry-After, Flowise not called, nothing reserved); close one, the next is accepted", async () => {
    await d.setFault({ kind: "slowDrip", ms: 60_000 });
    const u = await fresh(100);
    const open = [];
    for (let i = 0; i < MAX; i++) open.push(await openStream(u));
    const calls = d.calls.prediction;
    await expect429(await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "one more", streaming: true }, u.accessToken));
    await expect429(await brainAsk(u));
    expect(d.calls.prediction).toBe(calls);
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(100 - MAX);

    // Another user is not affected; a JSON prediction is not a stream.
    const other = await fresh(10);
    const theirs = await openStream(other);
    theirs.abort.abort();

    open.pop()!.abort.abort();
    await slotsDropTo(u, MAX - 1);
    open.push(await openStream(u));
    for (const o of open) o.abort.abort();
    await slotsDropTo(u, 0);
    await slotsDropTo(other, 0);
  });

  test("client aborts free every slot: abort all N twice over, then N open again and N+1 is refused", async () => {
    await d.setFault({ kind: "slowDrip", ms: 60_000 });
    const u = await fresh(100);
    for (let round = 0; round < 2; round++) {
      const open = await Promise.all(Array.from({ length: MAX }, () => openStream(u)));
      for (const o of open) o.abort.abort();
      await slotsDropTo(u, 0);
    }
    // Aborted while chatgate still waits for Flowise's first byte (before the stream began).
    await d.setFault({ kind: "delayFirstByte", ms: 60_000 });
    const calls = d.calls.prediction;
    const waiting = Array.from({ length: MAX }, () => new AbortController());
    const pending = waiting.map((a) =>
      post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "gone", streaming: true }, u.accessToken, {}, a.signal).catch(() => "aborted"),
    );
    await waitFor(
      "requests at Flowise",
      async () => d.calls.prediction,
      (n) => n === calls + MAX,
    );
    expect(inUse(u)).toBe(MAX);
    for (const a of waiting) a.abort();
    expect(await Promise.all(pending)).toEqual(Array(MAX).fill("aborted"));
    await slotsDropTo(u, 0);
    await d.setFault({ kind: "slowDrip", ms: 60_000 });
    const open = await Promise.all(Array.from({ length: MAX }, () => openStream(u)));
    await expect429(await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "one more", streaming: true }, u.accessToken));
    for (const o of open) o.abort.abort();
    await slotsDropTo(u, 0);
  });

  test("streams that end by themselves (complete, Flowise error, Flowise drop) and refusals before a stream free their slots", async () => {
    const u = await fresh(100);
    d.setAnswer({ tokens: ["a", "b"] });
    for (const fault of [null, { kind: "errorFrame" as const, afterTokens: 1 }, { kind: "dropMidStream" as const, afterEvents: 2 }, { kind: "status500" as const }]) {
      await d.setFault(fault);
      const results = await Promise.all(
        Array.from({ length: MAX + 2 }, async () => {
          const res = await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "q", streaming: true }, u.accessToken);
          if (res.status === 200) await readStream(res).catch(() => undefined);
          else await res.arrayBuffer();
          return res.status;
        }),
      );
      expect(results.filter((r) => r === 429).length).toBeLessThanOrEqual(2);
      await slotsDropTo(u, 0);
    }
    await setBalance(s.t.ctx.db, u.user.id, 0);
    for (let i = 0; i < MAX + 2; i++) expect((await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "q", streaming: true }, u.accessToken)).status).toBe(402);
    expect(inUse(u)).toBe(0);
    expect(await settled(s.t.ctx.db, u.user.id)).not.toHaveProperty("held");
  });
});
