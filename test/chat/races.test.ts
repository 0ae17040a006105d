// Credits under real concurrency: N ≫ k simultaneous predictions with credits for k succeed
// exactly k times, on one instance and on two instances sharing one database.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { createApp, createContext, stopContext } from "../../src/app";
import { createLogger } from "../../src/http/logger";
import type { FlowiseDouble } from "../doubles/flowise";
import { seedUser, type SeededUser } from "../helpers";
import { balanceOf, bodyText, post, reservations, seedChatflow, serve, setBalance, settled, startDouble, type Served } from "./helpers";

const FLOW = crypto.randomUUID();
let d: FlowiseDouble;
let s: Served;
let second: { base: string; stop(): Promise<void> };

/**
 * The second instance: on Postgres a separate app on the same schema (as two processes would be);
 * on PGlite, which one process owns, a second context and app over the same database.
 */
// Many concurrent streams of one user are the point here, not the per-user stream cap.
const ENV = { FLOWISE_TIMEOUT: "5", MAX_STREAMS_PER_USER: "1000" };

async function secondInstance(): Promise<{ base: string; stop(): Promise<void> }> {
  if (s.t.schema) return serve(d, ENV, { schema: s.t.schema });
  const ctx = await createContext(
    s.t.config,
    s.t.ctx.database,
    createLogger("warn", () => {}),
  );
  const app = createApp(ctx);
  app.listen({ port: 0, hostname: "127.0.0.1" });
  return {
    base: `http://127.0.0.1:${app.server!.port}`,
    async stop() {
      await app.stop(true);
      await stopContext(ctx);
    },
  };
}

beforeAll(async () => {
  d = await startDouble([FLOW]);
  s = await serve(d, ENV);
  await seedChatflow(s.t.ctx.db, FLOW, { cost: 1 });
  second = await secondInstance();
}, 30_000);
afterEach(() => d.reset());
afterAll(async () => {
  await second.stop();
  await s.stop();
  await d.stop();
});

async function fresh(balance: number): Promise<SeededUser> {
  const u = await seedUser(s.t);
  await seedChatflow(s.t.ctx.db, FLOW, { grant: [u.user.id] });
  await setBalance(s.t.ctx.db, u.user.id, balance);
  return u;
}

/** Fires all at once; each resolves to its status after its body was read to the end. */
const fire = (calls: (() => Promise<Response>)[]) =>
  Promise.all(
    calls.map(async (c) => {
      const res = await c();
      await bodyText(res);
      return res.status;
    }),
  );

const predictOn =
  (base: string, u: SeededUser, streaming: boolean, headers: Record<string, string> = {}) =>
  () =>
    post(base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "race", streaming }, u.accessToken, headers);

describe("concurrent predictions against a small balance", () => {
  test("one instance: 40 at once (JSON and SSE) with credits for 3 → exactly 3 succeed, the rest 402, Flowise called 3 times", async () => {
    const u = await fresh(3);
    d.setAnswer({ tokenCount: 3, delayMs: 5 });
    const statuses = await fire(Array.from({ length: 40 }, (_, i) => predictOn(s.base, u, i % 2 === 0)));
    expect(statuses.filter((x) => x === 200)).toHaveLength(3);
    expect(statuses.filter((x) => x === 402)).toHaveLength(37);
    expect(d.calls.prediction).toBe(3);
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ settled: 3 });
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(0);
  });

  test("two instances sharing the database: 40 at once split across both with credits for 5 → exactly 5 succeed", async () => {
    const u = await fresh(5);
    const statuses = await fire(Array.from({ length: 40 }, (_, i) => predictOn(i % 2 === 0 ? s.base : second.base, u, i % 4 < 2)));
    expect(statuses.filter((x) => x === 200)).toHaveLength(5);
    expect(statuses.filter((x) => x === 402)).toHaveLength(35);
    expect(d.calls.prediction).toBe(5);
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ settled: 5 });
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(0);
  });

  test("the same Idempotency-Key sent 10 times at once (on both instances) runs and charges once", async () => {
    const u = await fresh(10);
    d.setAnswer({ tokenCount: 3, delayMs: 20 });
    const headers = { "idempotency-key": `race-${crypto.randomUUID()}` };
    const statuses = await fire(Array.from({ length: 10 }, (_, i) => predictOn(i % 2 === 0 ? s.base : second.base, u, false, headers)));
    expect(statuses.every((x) => x === 200 || x === 409)).toBe(true);
    expect(statuses.filter((x) => x === 200).length).toBeGreaterThanOrEqual(1);
    expect(d.calls.prediction).toBe(1);
    expect(await reservations(s.t.ctx.db, u.user.id)).toEqual({ settled: 1 });
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(9);
  });
});
