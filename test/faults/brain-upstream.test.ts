// Upstream faults on the brain question stream (`/chat/{id}/question/stream`), which the chat
// suite covers for predict only: before an answer each fault is its status in the brain family's
// `{detail}` body with the reservation refunded; after the stream started it ends (error, then the
// last frame) with the started answer charged; never a hang.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Fault, FlowiseDouble } from "../doubles/flowise";
import { newId } from "../../src/ids";
import { seedUser, type SeededUser } from "../helpers";
import { balanceOf, post, seedChatflow, serve, setBalance, settled, startDouble, type Served } from "../chat/helpers";

const BRAIN = crypto.randomUUID();
const BOUND_MS = 10_000;
let d: FlowiseDouble;
let s: Served;

beforeAll(async () => {
  d = await startDouble([BRAIN]);
  s = await serve(d, { FLOWISE_TIMEOUT: "1" });
  await seedChatflow(s.t.ctx.db, BRAIN, { cost: 2, name: "Fault brain" });
}, 30_000);
afterEach(() => d.reset());
afterAll(async () => {
  await s.stop();
  await d.stop();
});

async function fresh(): Promise<{ u: SeededUser; token: string }> {
  const u = await seedUser(s.t);
  await seedChatflow(s.t.ctx.db, BRAIN, { grant: [u.user.id] });
  await setBalance(s.t.ctx.db, u.user.id, 10);
  const token = await s.t.ctx.signer.sign("chat", { sub: u.user.id, email: u.user.email, brain_id: BRAIN, jti: newId("ct"), kid: newId("key") }, 1800);
  return { u, token };
}

async function ask(token: string): Promise<{ status: number; type: string; text: string; ms: number; retryAfter: string | null }> {
  const started = performance.now();
  const res = await post(s.base, `/chat/${crypto.randomUUID()}/question/stream?brain_id=${BRAIN}`, { question: "fault?" }, token);
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type") ?? "", text, ms: performance.now() - started, retryAfter: res.headers.get("retry-after") };
}

const BEFORE_ANSWER: [string, Fault, number][] = [
  ["refused", { kind: "refuse" }, 503],
  ["no first byte within FLOWISE_TIMEOUT", { kind: "delayFirstByte", ms: 2500 }, 504],
  ["an HTML page", { kind: "html" }, 502],
  ["HTTP 500", { kind: "status500" }, 502],
  ["HTTP 429", { kind: "status429", retryAfterSeconds: 9 }, 503],
];

describe("brain question stream: upstream faults", () => {
  for (const [name, fault, status] of BEFORE_ANSWER) {
    test(`${name} before an answer → ${status} {detail}, refunded, bounded`, async () => {
      const { u, token } = await fresh();
      await d.setFault(fault);
      const r = await ask(token);
      expect(r.ms).toBeLessThan(BOUND_MS);
      expect(r.status).toBe(status);
      expect(r.type).toStartWith("application/json");
      expect(Object.keys(JSON.parse(r.text))).toContain("detail");
      if (fault.kind === "status429") expect(r.retryAfter).toBe("9");
      expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ refunded: 1 });
      expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(10);
    });
  }

  test("a slow drip still arrives whole, charged once", async () => {
    const { u, token } = await fresh();
    d.setAnswer({ tokens: ["slow ", "but ", "sure"] });
    await d.setFault({ kind: "slowDrip", ms: 300 });
    const r = await ask(token);
    expect(r.status).toBe(200);
    const assistant = r.text
      .split("\n")
      .filter((l) => l.startsWith("data: "))
      .map((l) => JSON.parse(l.slice(6)).assistant)
      .join("");
    expect(assistant).toBe("slow but sure");
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ settled: 1 });
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(8);
  });

  for (const [name, fault] of [
    ["dropped mid-stream", { kind: "dropMidStream", afterEvents: 3 }],
    ["Flowise's error frame after tokens", { kind: "errorFrame", afterTokens: 2, message: "model overloaded" }],
  ] as [string, Fault][]) {
    test(`${name} after the answer started: the stream ends (no hang), the started answer is charged`, async () => {
      const { u, token } = await fresh();
      d.setAnswer({ tokenCount: 10 });
      await d.setFault(fault);
      const r = await ask(token);
      expect(r.ms).toBeLessThan(BOUND_MS);
      expect(r.status).toBe(200);
      expect(r.type).toStartWith("text/event-stream");
      expect(r.text.length).toBeGreaterThan(0);
      expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ settled: 1 });
      expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(8);
    });
  }
});
