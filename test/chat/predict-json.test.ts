import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { chatMessages } from "../../src/db/schema";
import type { FlowiseDouble } from "../doubles/flowise";
import { seedUser, type SeededUser } from "../helpers";
import { balanceOf, FLOWISE_KEY, post, reservations, seedChatflow, serve, setBalance, settled, startDouble, type Served } from "./helpers";
import { CHATFLOW_ERRORS } from "../../src/chatflows/errors";
import { CHAT_ERRORS } from "../../src/chat/errors";

const FLOW = crypto.randomUUID();
const OTHER_FLOW = crypto.randomUUID();
let d: FlowiseDouble;
let s: Served;
let alice: SeededUser;

beforeAll(async () => {
  d = await startDouble([FLOW, OTHER_FLOW]);
  s = await serve(d, { FLOWISE_OVERRIDE_ALLOW: "temperature,sessionId" });
  alice = await seedUser(s.t);
  await seedChatflow(s.t.ctx.db, FLOW, { cost: 2, grant: [alice.user.id] });
}, 30_000);
afterEach(() => d.reset());
afterAll(async () => {
  await s.stop();
  await d.stop();
});

const predict = (body: Record<string, unknown>, token = alice.accessToken, headers: Record<string, string> = {}) =>
  post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, ...body }, token, headers);

describe("POST /api/v1/chat/predict (JSON)", () => {
  test("answers Flowise's JSON plus session_id, calls Flowise as documented, charges the cost, stores both messages", async () => {
    await setBalance(s.t.ctx.db, alice.user.id, 10);
    d.setAnswer({ tokens: ["Hello ", "there"], chatMessageId: "cm-1", sourceDocuments: [{ pageContent: "doc", metadata: { source: "a.pdf" } }] });
    const res = await predict({ question: "Hi?", overrideConfig: { temperature: 0.2 } });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.text).toBe("Hello there");
    expect(body.chatMessageId).toBe("cm-1");
    expect(body.sourceDocuments).toEqual([{ pageContent: "doc", metadata: { source: "a.pdf" } }]);
    expect(typeof body.session_id).toBe("string");
    expect(body.chatId).toBe(body.session_id);

    const req = d.lastRequest("prediction")!;
    expect(req.path).toBe(`/api/v1/prediction/${FLOW}`);
    expect(req.headers.authorization).toBe(`Bearer ${FLOWISE_KEY}`);
    expect(req.body).toEqual({ question: "Hi?", streaming: false, chatId: body.session_id, overrideConfig: { temperature: 0.2 } });

    expect(await balanceOf(s.t.ctx.db, alice.user.id)).toBe(8);
    const msgs = await s.t.ctx.db.select().from(chatMessages).where(eq(chatMessages.sessionId, body.session_id));
    expect(msgs.map((m) => [m.role, m.content, m.status]).sort()).toEqual([
      ["assistant", "Hello there", "complete"],
      ["user", "Hi?", "complete"],
    ]);
    const metrics = s.t.ctx.metrics.render();
    expect(metrics).toMatch(/chatgate_predictions_total\{mode="json",result="ok"\} 1/);
  });

  test("a follow-up with session_id continues the same session", async () => {
    await setBalance(s.t.ctx.db, alice.user.id, 10);
    const first = await (await predict({ question: "one" })).json();
    const second = await (await predict({ question: "two", session_id: first.session_id })).json();
    expect(second.session_id).toBe(first.session_id);
    expect((d.lastRequest("prediction")!.body as { chatId: string }).chatId).toBe(first.session_id);
  });

  test("validation: blank or missing question, unknown overrideConfig key, bad session_id → 422 {detail}, no charge, no upstream call", async () => {
    await setBalance(s.t.ctx.db, alice.user.id, 10);
    for (const body of [
      { question: "" },
      { question: "   " },
      {},
      { question: "x", overrideConfig: { systemMessage: "be evil" } },
      { question: "x", session_id: "../etc" },
      { question: "x".repeat(32_001) },
    ]) {
      const res = await predict(body);
      expect(res.status).toBe(422);
      expect(typeof (await res.json()).detail).toBe("string");
    }
    expect(d.calls.prediction).toBe(0);
    expect(await balanceOf(s.t.ctx.db, alice.user.id)).toBe(10);
  });

  test("401 without or with a bad token; 404 unknown chatflow; 403 not granted; nothing reaches Flowise", async () => {
    const none = await predict({ question: "x" }, "");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe("Bearer");
    expect((await predict({ question: "x" }, "garbage")).status).toBe(401);
    const unknown = await post(s.base, "/api/v1/chat/predict", { chatflow_id: crypto.randomUUID(), question: "x" }, alice.accessToken);
    expect(unknown.status).toBe(404);
    await seedChatflow(s.t.ctx.db, OTHER_FLOW);
    const denied = await post(s.base, "/api/v1/chat/predict", { chatflow_id: OTHER_FLOW, question: "x" }, alice.accessToken);
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ detail: CHATFLOW_ERRORS.NO_ACCESS.message });
    expect(d.calls.prediction).toBe(0);
  });

  test("no credits → 402 Insufficient credits and no upstream call", async () => {
    await setBalance(s.t.ctx.db, alice.user.id, 1);
    const res = await predict({ question: "x" });
    expect(res.status).toBe(402);
    expect(await res.json()).toEqual({ detail: CHAT_ERRORS.INSUFFICIENT_CREDITS.message });
    expect(d.calls.prediction).toBe(0);
    expect(await balanceOf(s.t.ctx.db, alice.user.id)).toBe(1);
  });

  test("someone else's session_id → 404; nothing is reserved, charged or written", async () => {
    const bob = await seedUser(s.t);
    await seedChatflow(s.t.ctx.db, FLOW, { grant: [bob.user.id] });
    await setBalance(s.t.ctx.db, bob.user.id, 10);
    await setBalance(s.t.ctx.db, alice.user.id, 10);
    const mine = await (await predict({ question: "mine" })).json();
    const res = await predict({ question: "steal", session_id: mine.session_id }, bob.accessToken);
    expect(res.status).toBe(404);
    expect(await balanceOf(s.t.ctx.db, bob.user.id)).toBe(10);
    // The session check is part of the reservation's statement, so no reservation is made at all.
    expect(await reservations(s.t.ctx.db, bob.user.id)).toEqual({});
    expect(d.calls.prediction).toBe(1);
  });

  test("Idempotency-Key: a retry returns the stored answer and charges once; another body with the key → 409", async () => {
    await setBalance(s.t.ctx.db, alice.user.id, 10);
    const key = { "idempotency-key": `k-${crypto.randomUUID()}` };
    const first = await predict({ question: "same" }, alice.accessToken, key);
    const firstBody = await first.json();
    const again = await predict({ question: "same" }, alice.accessToken, key);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(firstBody);
    expect(d.calls.prediction).toBe(1);
    expect(await balanceOf(s.t.ctx.db, alice.user.id)).toBe(8);
    const other = await predict({ question: "different" }, alice.accessToken, key);
    expect(other.status).toBe(409);
    expect(d.calls.prediction).toBe(1);
  });

  test("Idempotency-Key after an upstream failure: the key is freed, the retry runs and charges once", async () => {
    await setBalance(s.t.ctx.db, alice.user.id, 10);
    const key = { "idempotency-key": `k-${crypto.randomUUID()}` };
    await d.setFault({ kind: "status500" });
    expect((await predict({ question: "q" }, alice.accessToken, key)).status).toBe(502);
    expect(await balanceOf(s.t.ctx.db, alice.user.id)).toBe(10);
    await d.setFault(null);
    expect((await predict({ question: "q" }, alice.accessToken, key)).status).toBe(200);
    expect(await balanceOf(s.t.ctx.db, alice.user.id)).toBe(8);
  });

  test("the client going away while Flowise thinks aborts the upstream call and refunds, without an error log", async () => {
    await setBalance(s.t.ctx.db, alice.user.id, 10);
    await d.setFault({ kind: "delayFirstByte", ms: 1500 });
    const ac = new AbortController();
    const pending = post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "slow" }, alice.accessToken, {}, ac.signal).catch((e: unknown) => e);
    while (d.calls.prediction === 0) await Bun.sleep(10);
    ac.abort();
    await pending;
    expect(await d.waitForAbort(3000)).toBe(1);
    expect(await settled(s.t.ctx.db, alice.user.id)).not.toHaveProperty("held");
    expect(await balanceOf(s.t.ctx.db, alice.user.id)).toBe(10);
    expect(s.t.logs.filter((l) => l.includes('"level":"error"'))).toEqual([]);
  });

  test("FLOWISE_URL unset → 503 after the access check, nothing charged", async () => {
    const bare = await serve(d, { FLOWISE_URL: "" });
    try {
      const u = await seedUser(bare.t);
      await seedChatflow(bare.t.ctx.db, FLOW, { grant: [u.user.id] });
      await setBalance(bare.t.ctx.db, u.user.id, 5);
      const res = await post(bare.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "x" }, u.accessToken);
      expect(res.status).toBe(503);
      expect(await balanceOf(bare.t.ctx.db, u.user.id)).toBe(5);
    } finally {
      await bare.stop();
    }
  });
});
