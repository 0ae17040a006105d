import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { FlowiseDouble } from "../doubles/flowise";
import { seedUser, type SeededUser } from "../helpers";
import { get, post, seedChatflow, serve, setBalance, startDouble, type Served } from "./helpers";
import { CHAT_ERRORS } from "../../src/chat/errors";

const FLOW = crypto.randomUUID();
let d: FlowiseDouble;
let s: Served;
let alice: SeededUser;
let bob: SeededUser;

beforeAll(async () => {
  d = await startDouble([FLOW]);
  s = await serve(d);
  alice = await seedUser(s.t);
  bob = await seedUser(s.t);
  await seedChatflow(s.t.ctx.db, FLOW, { cost: 1, grant: [alice.user.id, bob.user.id] });
  await setBalance(s.t.ctx.db, alice.user.id, 100);
  await setBalance(s.t.ctx.db, bob.user.id, 100);
}, 30_000);
afterAll(async () => {
  await s.stop();
  await d.stop();
});

const ask = async (u: SeededUser, question: string, session_id?: string) => {
  const res = await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question, session_id }, u.accessToken);
  expect(res.status).toBe(200);
  return (await res.json()) as { session_id: string; text: string };
};

describe("sessions and history", () => {
  test("sessions are the caller's own, newest first, with the first question as a shortened topic; limit/offset page them", async () => {
    const long = `${"Why is the sky blue and what does Rayleigh scattering have to do with it, ".repeat(3)}really?`;
    const first = await ask(alice, long);
    await ask(alice, "follow-up", first.session_id);
    const second = await ask(alice, "  Second\n conversation  ");
    await ask(bob, "bob's own");

    const res = await get(s.base, "/api/v1/chat/sessions", alice.accessToken);
    expect(res.status).toBe(200);
    const list = await res.json();
    expect(list.count).toBe(2);
    expect(list.sessions.map((x: { session_id: string }) => x.session_id)).toEqual([second.session_id, first.session_id]);
    const [newest, oldest] = list.sessions;
    expect(newest).toEqual({ session_id: second.session_id, chatflow_id: FLOW, topic: "Second conversation", created_at: expect.any(String) });
    expect(oldest.topic.length).toBeLessThanOrEqual(60);
    expect(oldest.topic).toEndWith("…");
    expect(long.startsWith(oldest.topic.slice(0, -1))).toBe(true);
    expect(new Date(newest.created_at).toISOString()).toBe(newest.created_at);

    const page = await (await get(s.base, "/api/v1/chat/sessions?limit=1&offset=1", alice.accessToken)).json();
    expect(page.count).toBe(2);
    expect(page.sessions.map((x: { session_id: string }) => x.session_id)).toEqual([first.session_id]);
    expect((await get(s.base, "/api/v1/chat/sessions?limit=0", alice.accessToken)).status).toBe(422);
  });

  test("history lists the questions and answers oldest first; another user's or an unknown session → 404", async () => {
    d.setAnswer({ tokens: ["four"] });
    const a = await ask(alice, "2+2?");
    d.setAnswer({ tokens: ["six"] });
    await ask(alice, "3+3?", a.session_id);
    const res = await get(s.base, `/api/v1/chat/sessions/${a.session_id}/history`, alice.accessToken);
    expect(res.status).toBe(200);
    const h = await res.json();
    expect(h.session_id).toBe(a.session_id);
    expect(h.messages.map((m: { role: string; content: string }) => [m.role, m.content])).toEqual([
      ["user", "2+2?"],
      ["assistant", "four"],
      ["user", "3+3?"],
      ["assistant", "six"],
    ]);
    for (const m of h.messages) expect(new Date(m.timestamp).toISOString()).toBe(m.timestamp);

    const theirs = await get(s.base, `/api/v1/chat/sessions/${a.session_id}/history`, bob.accessToken);
    expect(theirs.status).toBe(404);
    expect(await theirs.json()).toEqual({ detail: CHAT_ERRORS.SESSION_NOT_FOUND.message });
    expect((await get(s.base, `/api/v1/chat/sessions/${crypto.randomUUID()}/history`, alice.accessToken)).status).toBe(404);
  });

  test("both routes need an access token", async () => {
    for (const path of ["/api/v1/chat/sessions", `/api/v1/chat/sessions/${crypto.randomUUID()}/history`]) {
      const res = await fetch(`${s.base}${path}`);
      expect(res.status).toBe(401);
      expect((await get(s.base, path, "garbage")).status).toBe(401);
    }
  });
});
