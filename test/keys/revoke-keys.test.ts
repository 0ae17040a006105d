import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { newId } from "../../src/ids";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { adminOf, createKey, type SeededKey } from "./helpers";
import { IDENTITY_ERRORS } from "../../src/identity/errors";

// Issue 13, finding 6: API keys survived revoke-all, a password reset and disable/enable.
// Chosen: keys are separate credentials, kept by those actions unless asked
// (`include_api_keys` / `revoke_api_keys`); a disabled user's keys are refused while disabled.
let t: TestApp;
let admin: SeededUser;
beforeAll(async () => {
  t = await makeApp();
  admin = await adminOf(t);
}, 60_000);
afterAll(() => t.close(), 60_000);

const validate = (k: SeededKey) => t.request("GET", "/api/auth/validate", { headers: { "x-api-key": k.key } });
/** The key's own list, as the owner sees it (access token). */
const contacts = (k: SeededKey) => t.request("GET", "/api/contacts", { headers: { authorization: `Bearer ${k.key}` } });
const revoke = (u: SeededUser, body: unknown) => t.request("POST", "/api/v1/chat/revoke", { token: u.accessToken, body });
const patchUser = (id: string, body: unknown) => t.request("PATCH", `/api/auth/users/${id}`, { token: admin.accessToken, body });
const revokedAt = async (k: SeededKey) =>
  (await json(await t.request("GET", `/api/auth/api-keys?user_id=${k.owner.user.id}`, { token: admin.accessToken }))).find((x: { id: string }) => x.id === k.id).revoked_at;

/** A key that has been used (so it sits in the verifier's cache) and a chat token it minted. */
async function liveKey(owner?: SeededUser): Promise<SeededKey & { chat: string }> {
  const k = await createKey(t, { owner });
  expect((await validate(k)).status).toBe(200);
  expect((await contacts(k)).status).toBe(200);
  const chat = await t.ctx.signer.sign("chat", { sub: k.owner.user.id, email: k.owner.user.email, brain_id: crypto.randomUUID(), jti: newId("ct"), kid: k.id }, 1800);
  return { ...k, chat };
}
const chatWorks = async (token: string) => (await t.request("POST", `/chat/${crypto.randomUUID()}/question/stream`, { token, body: { question: "q" } })).status !== 401;

describe("POST /api/v1/chat/revoke with include_api_keys", () => {
  test("all_tokens + include_api_keys revokes every key of the caller (cached ones included) and their chat tokens", async () => {
    const a = await liveKey();
    const b = await liveKey(a.owner);
    const other = await liveKey();
    const res = await revoke(a.owner, { all_tokens: true, include_api_keys: true });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ message: "Tokens revoked successfully.", revoked_count: 1, api_keys_revoked: 2 });
    for (const k of [a, b]) {
      expect((await validate(k)).status).toBe(401);
      expect((await contacts(k)).status).toBe(401);
      expect(await revokedAt(k)).not.toBeNull();
      expect(await chatWorks(k.chat)).toBe(false);
    }
    expect((await validate(other)).status).toBe(200);
  });

  test("all_tokens alone keeps the keys (as documented); include_api_keys needs all_tokens", async () => {
    const k = await liveKey();
    expect(await json(await revoke(k.owner, { all_tokens: true }))).toEqual({ message: "Tokens revoked successfully.", revoked_count: 1 });
    expect((await validate(k)).status).toBe(200);
    const fresh = await seedUser(t);
    const alone = await revoke(fresh, { include_api_keys: true });
    expect(alone.status).toBe(400);
    expect(await json(alone)).toEqual({ detail: IDENTITY_ERRORS.API_KEYS_NEED_ALL.message });
    const typed = await revoke(fresh, { all_tokens: true, include_api_keys: "yes" });
    expect(typed.status).toBe(400); // the revoke contract documents 400 for invalid parameters
  });
});

describe("PATCH /api/auth/users/{id} with revoke_api_keys", () => {
  test("a password reset with revoke_api_keys revokes the keys; without it they are kept", async () => {
    const kept = await liveKey();
    expect((await patchUser(kept.owner.user.id, { password: "a-new-password-123" })).status).toBe(200);
    expect((await validate(kept)).status).toBe(200);

    const gone = await liveKey();
    const res = await patchUser(gone.owner.user.id, { password: "a-new-password-456", revoke_api_keys: true });
    expect(res.status).toBe(200);
    expect((await validate(gone)).status).toBe(401);
    expect(await revokedAt(gone)).not.toBeNull();
    expect(await chatWorks(gone.chat)).toBe(false);
  });

  test("revoke_api_keys alone revokes the keys and leaves the sessions alone", async () => {
    const k = await liveKey();
    expect((await patchUser(k.owner.user.id, { revoke_api_keys: true })).status).toBe(200);
    expect((await validate(k)).status).toBe(401);
    expect((await t.request("GET", "/api/auth/me", { token: k.owner.accessToken })).status).toBe(200);
    expect((await patchUser(k.owner.user.id, { revoke_api_keys: 1 })).status).toBe(422);
  });

  test("disabled: keys and their chat tokens are refused while disabled and work again once enabled", async () => {
    const k = await liveKey();
    expect((await patchUser(k.owner.user.id, { disabled: true })).status).toBe(200);
    expect((await validate(k)).status).toBe(401);
    expect((await contacts(k)).status).toBe(401);
    expect(await chatWorks(k.chat)).toBe(false);
    expect((await patchUser(k.owner.user.id, { disabled: false })).status).toBe(200);
    expect((await validate(k)).status).toBe(200);
    expect((await contacts(k)).status).toBe(200);
  });

  test("disabled with revoke_api_keys: the keys stay revoked after enabling", async () => {
    const k = await liveKey();
    expect((await patchUser(k.owner.user.id, { disabled: true, revoke_api_keys: true })).status).toBe(200);
    expect((await patchUser(k.owner.user.id, { disabled: false })).status).toBe(200);
    expect((await validate(k)).status).toBe(401);
    expect(await revokedAt(k)).not.toBeNull();
  });
});
