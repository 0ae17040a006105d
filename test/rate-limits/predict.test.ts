import { afterAll, beforeAll, expect, test } from "bun:test";
import type { FlowiseDouble } from "../doubles/flowise";
import { seedUser } from "../helpers";
import { balanceOf, post, seedChatflow, serve, setBalance, startDouble, type Served } from "../chat/helpers";

const FLOW = crypto.randomUUID();
let d: FlowiseDouble;
let s: Served;

beforeAll(async () => {
  d = await startDouble([FLOW]);
  // A prediction weighs 10: a quota of 25 admits two, the third is refused.
  s = await serve(d, { RATE_LIMIT_USER: "25/60", RATE_LIMIT_PREDICT_COST: "10" });
}, 30_000);
afterAll(async () => {
  await s.stop();
  await d.stop();
});

test("a prediction over the limit is 429 before Flowise is called and before anything is charged", async () => {
  const u = await seedUser(s.t);
  await seedChatflow(s.t.ctx.db, FLOW, { cost: 2, grant: [u.user.id] });
  await setBalance(s.t.ctx.db, u.user.id, 100);
  const ask = () => post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "q" }, u.accessToken);
  const first = await ask();
  expect(first.status).toBe(200);
  expect(first.headers.get("ratelimit-policy")).toBe('"user";q=25;w=60');
  expect(first.headers.get("ratelimit")).toMatch(/^"user";r=15;t=\d+$/);
  await first.text();
  expect((await ask()).status).toBe(200);
  const callsBefore = d.calls.prediction;
  const balanceBefore = await balanceOf(s.t.ctx.db, u.user.id);
  const refused = await ask();
  expect(refused.status).toBe(429);
  expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
  expect(refused.headers.get("ratelimit")).toMatch(/^"user";r=5;t=\d+$/);
  expect(await refused.json()).toEqual({ detail: expect.stringContaining("Rate limit exceeded") });
  expect(d.calls.prediction).toBe(callsBefore);
  expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(balanceBefore);
  // A cheap request still fits in what is left.
  const sessions = await fetch(`${s.base}/api/v1/chat/sessions`, { headers: { authorization: `Bearer ${u.accessToken}` } });
  expect(sessions.status).toBe(200);
  expect(sessions.headers.get("ratelimit")).toMatch(/^"user";r=4;t=\d+$/);
});

test("a streamed prediction carries the fields too, and weighs the same", async () => {
  const u = await seedUser(s.t);
  await seedChatflow(s.t.ctx.db, FLOW, { cost: 1, grant: [u.user.id] });
  await setBalance(s.t.ctx.db, u.user.id, 100);
  const res = await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "q", streaming: true }, u.accessToken);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("text/event-stream");
  expect(res.headers.get("ratelimit-policy")).toBe('"user";q=25;w=60');
  expect(res.headers.get("ratelimit")).toMatch(/^"user";r=15;t=\d+$/);
  await res.text();
});
