import { afterAll, afterEach, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { decodeJwt } from "jose";
import { issueSession } from "../../src/identity/sessions";
import { toUserState } from "../../src/identity/user-cache";
import { TOKEN_KINDS } from "../../src/kernel/signing-keys";
import { json, makeApp, seedUser, type TestApp } from "../helpers";
import { createKey, seedBrain } from "../keys/helpers";

// chatgate signs and verifies its own tokens: no clock skew to allow for. The clock is moved
// with setSystemTime, so nothing here waits.
let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());
afterEach(() => setSystemTime());

const expMs = (token: string) => decodeJwt(token).exp! * 1000;
const me = (token: string) => t.request("GET", "/api/auth/me", { token });
const asChat = (token: string) => t.ctx.authn.authenticate(new Request("http://localhost/chat/x/question/stream", { headers: { authorization: `Bearer ${token}` } }), ["chat"]);

describe("every token kind expires exactly at exp", () => {
  test("signer: valid 1 ms before exp, expired at exp, on the first (uncached) and a later (cached) check", async () => {
    for (const kind of TOKEN_KINDS) {
      const uncached = await t.ctx.signer.sign(kind, { sub: "usr_x", jti: `${kind}-1` }, 60);
      const cached = await t.ctx.signer.sign(kind, { sub: "usr_x", jti: `${kind}-2` }, 60);
      setSystemTime(new Date(expMs(cached) - 1));
      expect((await t.ctx.signer.verify(kind, cached)).valid).toBe(true);
      setSystemTime(new Date(expMs(uncached)));
      expect(await t.ctx.signer.verify(kind, uncached)).toEqual({ valid: false, code: "EXPIRED" });
      setSystemTime(new Date(expMs(cached)));
      expect(await t.ctx.signer.verify(kind, cached)).toEqual({ valid: false, code: "EXPIRED" });
      setSystemTime();
    }
  });

  test("an access token is refused at exp on its route, whether or not it was seen before", async () => {
    const s = await seedUser(t);
    const other = (await issueSession(t.ctx, toUserState(s.user))).accessToken;
    setSystemTime(new Date(expMs(s.accessToken) - 1));
    expect((await me(s.accessToken)).status).toBe(200);
    setSystemTime(new Date(expMs(s.accessToken)));
    expect((await me(s.accessToken)).status).toBe(401);
    setSystemTime(new Date(expMs(other)));
    expect((await me(other)).status).toBe(401);
  });

  test("a brain chat token is refused at exp", async () => {
    const k = await createKey(t);
    const brain = await seedBrain(t.ctx.db, { grant: [k.owner.user.id] });
    const mint = async () => (await json(await t.request("POST", `/api-key/chat-token?brain_id=${brain}`, { headers: { "x-api-key": k.key } }))).token as string;
    const [first, second] = [await mint(), await mint()];
    setSystemTime(new Date(expMs(first) - 1));
    expect((await asChat(first)).ok).toBe(true);
    setSystemTime(new Date(expMs(first)));
    expect((await asChat(first)).ok).toBe(false);
    setSystemTime(new Date(expMs(second)));
    expect((await asChat(second)).ok).toBe(false);
  });
});
