import { afterAll, afterEach, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { json, makeApp, type TestApp } from "../helpers";
import { createKey, seedBrain } from "../keys/helpers";

// A revoke-all's cut-off is compared to the millisecond: a token minted earlier in the same
// second dies, one minted after it lives. The clock is pinned inside one second with setSystemTime.
let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());
afterEach(() => setSystemTime());

const asChat = (token: string) => t.ctx.authn.authenticate(new Request("http://localhost/chat/x/question/stream", { headers: { authorization: `Bearer ${token}` } }), ["chat"]);

describe("revocation cut-offs are exact", () => {
  test("a chat token minted earlier in the same second as a revoke-all is refused; one minted after works", async () => {
    const k = await createKey(t);
    const brain = await seedBrain(t.ctx.db, { grant: [k.owner.user.id] });
    const mint = async () => (await json(await t.request("POST", `/api-key/chat-token?brain_id=${brain}`, { headers: { "x-api-key": k.key } }))).token as string;
    // A fresh second a little ahead, so every step below happens inside it.
    const second = (Math.floor(Date.now() / 1000) + 2) * 1000;
    setSystemTime(new Date(second + 100));
    const before = await mint();
    expect((await asChat(before)).ok).toBe(true);
    setSystemTime(new Date(second + 300));
    const res = await t.request("POST", "/api/v1/chat/revoke", { token: k.owner.accessToken, body: { all_tokens: true } });
    expect(res.status).toBe(200);
    setSystemTime(new Date(second + 500));
    expect((await asChat(before)).ok).toBe(false);
    const after = await mint();
    expect((await asChat(after)).ok).toBe(true);
  });
});
