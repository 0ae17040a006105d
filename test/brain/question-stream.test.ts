import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { FlowiseDouble } from "../doubles/flowise";
import { seedUser, type SeededUser } from "../helpers";
import { newId } from "../../src/ids";
import { createKey } from "../keys/helpers";
import { balanceOf, get, post, readStream, seedChatflow, serve, setBalance, settled, startDouble, type Served } from "../chat/helpers";
import { BRAIN_ERRORS } from "../../src/brain/errors";
import { CHAT_ERRORS } from "../../src/chat/errors";

const BRAIN = crypto.randomUUID();
const OTHER = crypto.randomUUID();
let d: FlowiseDouble;
let s: Served;

beforeAll(async () => {
  d = await startDouble([BRAIN, OTHER]);
  s = await serve(d);
  await seedChatflow(s.t.ctx.db, BRAIN, { cost: 2, name: "Support brain" });
  await seedChatflow(s.t.ctx.db, OTHER, { cost: 2, name: "Other brain" });
}, 30_000);
afterEach(() => d.reset());
afterAll(async () => {
  await s.stop();
  await d.stop();
});

async function fresh(balance = 10): Promise<SeededUser> {
  const u = await seedUser(s.t);
  await seedChatflow(s.t.ctx.db, BRAIN, { grant: [u.user.id] });
  await seedChatflow(s.t.ctx.db, OTHER, { grant: [u.user.id] });
  await setBalance(s.t.ctx.db, u.user.id, balance);
  return u;
}

/** A brain chat token as the keys feature mints it (30 minutes, one brain). */
const chatToken = (u: SeededUser, brain = BRAIN) =>
  s.t.ctx.signer.sign("chat", { sub: u.user.id, email: u.user.email, brain_id: brain, jti: newId("ct"), kid: newId("key") }, 1800);

const ask = (chatId: string, token: string, query = `?brain_id=${BRAIN}`, question = "What is chatgate?", signal?: AbortSignal) =>
  post(s.base, `/chat/${chatId}/question/stream${query}`, { question }, token, {}, signal);

type Frame = {
  chat_id: string;
  message_id: string;
  user_message: string;
  message_time: string;
  assistant: string;
  prompt_title: string | null;
  brain_name: string;
  brain_id: string;
  metadata: Record<string, any>;
};
const framesOf = (p: Awaited<ReturnType<typeof readStream>>) =>
  p.parser.events.map((e) => {
    expect(e.event).toBe("message");
    return JSON.parse(e.data) as Frame;
  });

describe("POST /chat and the brain question stream", () => {
  test('create a chat, ask with a chat token: data frames carry the new text, the last has assistant "" and the sources; charged; history', async () => {
    const u = await fresh();
    const created = await post(s.base, "/chat", { name: "My chat" }, u.accessToken);
    expect(created.status).toBe(200);
    const chat = await created.json();
    expect(chat).toEqual({ chat_id: expect.any(String), chat_name: "My chat", user_id: u.user.id, creation_time: expect.any(String) });

    const docs = [{ pageContent: "chatgate is a gateway", metadata: { source: "readme.md" } }];
    d.setAnswer({ tokens: ["A ", "gate", "way."], sourceDocuments: docs });
    const res = await ask(chat.chat_id, await chatToken(u));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const read = await readStream(res);
    expect(read.raw).toStartWith("data: {");
    const frames = framesOf(read);
    expect(frames.map((f) => f.assistant)).toEqual(["A ", "gate", "way.", ""]);
    for (const f of frames) {
      expect(Object.keys(f).sort()).toEqual(["assistant", "brain_id", "brain_name", "chat_id", "message_id", "message_time", "metadata", "prompt_title", "user_message"]);
      expect(f).toMatchObject({ chat_id: chat.chat_id, user_message: "What is chatgate?", brain_id: BRAIN, brain_name: "Support brain", prompt_title: null });
      expect(f.message_id).toBe(frames[0]!.message_id);
    }
    expect(frames.at(-1)!.metadata).toEqual({ sources: docs });
    expect((d.lastRequest("prediction")!.body as { chatId: string }).chatId).toBe(chat.chat_id);
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ settled: 1 });
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(8);

    const h = await get(s.base, `/chat/${chat.chat_id}/history`, u.accessToken);
    expect(h.status).toBe(200);
    const history = await h.json();
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({
      chat_id: chat.chat_id,
      message_id: frames[0]!.message_id,
      user_message: "What is chatgate?",
      assistant: "A gateway.",
      brain_id: BRAIN,
      brain_name: "Support brain",
    });
  });

  test("a chat token for another brain → 403, nothing charged, Flowise not called; without brain_id it uses its own brain", async () => {
    const u = await fresh();
    const token = await chatToken(u, OTHER);
    const res = await ask(crypto.randomUUID(), token);
    expect(res.status).toBe(403);
    expect(typeof (await res.json()).detail).toBe("string");
    expect(d.calls.prediction).toBe(0);
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(10);
    const own = await ask(crypto.randomUUID(), token, "");
    expect(own.status).toBe(200);
    await readStream(own);
    expect(d.lastRequest("prediction")!.path).toBe(`/api/v1/prediction/${OTHER}`);
  });

  test("an access token and a write API key are accepted; a read key → 403; a chat token elsewhere → 401", async () => {
    const u = await fresh(20);
    const chatId = crypto.randomUUID();
    const viaAccess = await ask(chatId, u.accessToken);
    expect(viaAccess.status).toBe(200);
    await readStream(viaAccess);
    const write = await createKey(s.t, { level: "write", owner: u });
    const viaKey = await ask(chatId, write.key);
    expect(viaKey.status).toBe(200);
    await readStream(viaKey);
    // A chat token minted by the keys feature from that key works for its brain.
    const minted = await post(s.base, `/api-key/chat-token?brain_id=${BRAIN}`, {}, write.key);
    expect(minted.status).toBe(200);
    const viaMinted = await ask(chatId, (await minted.json()).token);
    expect(viaMinted.status).toBe(200);
    await readStream(viaMinted);
    const read = await createKey(s.t, { level: "read", owner: u });
    expect((await ask(chatId, read.key)).status).toBe(403);
    const token = await chatToken(u);
    expect((await post(s.base, "/chat", { name: "x" }, token)).status).toBe(401);
    expect((await get(s.base, `/chat/${chatId}/history`, token)).status).toBe(401);
    expect((await post(s.base, "/api/v1/chat/predict", { chatflow_id: BRAIN, question: "q" }, token)).status).toBe(401);
    expect((await ask(chatId, "")).status).toBe(401);
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ settled: 3 });
  });

  test("an unknown chat_id is created for the caller; someone else's chat → 404 and a refund", async () => {
    const u = await fresh();
    const other = await fresh();
    const chatId = crypto.randomUUID();
    const res = await ask(chatId, u.accessToken, `?brain_id=${BRAIN}`, "first question");
    expect(res.status).toBe(200);
    await readStream(res);
    const sessions = await (await get(s.base, "/api/v1/chat/sessions", u.accessToken)).json();
    expect(sessions.sessions).toEqual([{ session_id: chatId, chatflow_id: BRAIN, topic: "first question", created_at: expect.any(String) }]);
    const stolen = await ask(chatId, other.accessToken);
    expect(stolen.status).toBe(404);
    expect(await balanceOf(s.t.ctx.db, other.user.id)).toBe(10);
    expect((await get(s.base, `/chat/${chatId}/history`, other.accessToken)).status).toBe(404);
  });

  test("an unknown brain → 404, a brain not granted → 403, in the brain's words; Flowise not called", async () => {
    const u = await seedUser(s.t);
    await setBalance(s.t.ctx.db, u.user.id, 10);
    const unknown = await ask(crypto.randomUUID(), u.accessToken, `?brain_id=${crypto.randomUUID()}`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ detail: BRAIN_ERRORS.BRAIN_NOT_FOUND.message });
    const denied = await ask(crypto.randomUUID(), u.accessToken);
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ detail: BRAIN_ERRORS.NO_BRAIN_ACCESS.message });
    expect((await ask(crypto.randomUUID(), u.accessToken, "")).status).toBe(422);
    expect(d.calls.prediction).toBe(0);
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(10);
  });

  test("no credits → 402 before Flowise; a blank question → 422", async () => {
    const u = await fresh(1);
    const res = await ask(crypto.randomUUID(), u.accessToken);
    expect(res.status).toBe(402);
    expect(await res.json()).toEqual({ detail: CHAT_ERRORS.INSUFFICIENT_CREDITS.message });
    expect((await ask(crypto.randomUUID(), u.accessToken, `?brain_id=${BRAIN}`, "  ")).status).toBe(422);
    expect(d.calls.prediction).toBe(0);
  });

  test("a drop after tokens ends with a last frame carrying the error; the started answer is charged", async () => {
    const u = await fresh();
    d.setAnswer({ tokenCount: 5 });
    await d.setFault({ kind: "dropMidStream", afterEvents: 3 });
    const frames = framesOf(await readStream(await ask(crypto.randomUUID(), u.accessToken)));
    expect(frames.map((f) => f.assistant)).toEqual(["tok0 ", "tok1 ", ""]);
    expect(frames.at(-1)!.metadata).toEqual({ sources: [], error: CHAT_ERRORS.FLOWISE_LOST.message });
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ settled: 1 });
    expect(await balanceOf(s.t.ctx.db, u.user.id)).toBe(8);
  });

  test("the client going away aborts Flowise at once", async () => {
    const u = await fresh();
    d.setAnswer({ tokenCount: 40 });
    await d.setFault({ kind: "slowDrip", ms: 50 });
    const ac = new AbortController();
    const res = await ask(crypto.randomUUID(), u.accessToken, `?brain_id=${BRAIN}`, "long", ac.signal);
    await readStream(res, (_t, p) => {
      if (p.events.length >= 1) ac.abort();
    }).catch(() => {});
    expect(await d.waitForAbort(3000)).toBe(1);
    expect(await settled(s.t.ctx.db, u.user.id)).toEqual({ settled: 1 });
  });
});
