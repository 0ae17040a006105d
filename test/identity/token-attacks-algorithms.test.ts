// The token attack suite for every JWT_ALG: HS256 (the default, see token-attacks.test.ts for
// every route), EdDSA and ES256, on a user route, an admin route and the chat-token route.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeProtectedHeader } from "jose";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { createKey, seedBrain } from "../keys/helpers";
import { expectTokenAttacksRefused, tokenAttacks } from "./token-attacks";

for (const alg of ["HS256", "EdDSA", "ES256"] as const) {
  describe(`JWT_ALG=${alg}`, () => {
    let t: TestApp;
    let admin: SeededUser;
    beforeAll(async () => {
      t = await makeApp({ JWT_ALG: alg });
      admin = await seedUser(t, { role: "admin" });
    }, 60_000);
    afterAll(() => t.close());

    test("tokens carry the algorithm, and a kid exactly when asymmetric", () => {
      const h = decodeProtectedHeader(admin.accessToken);
      expect(h.alg).toBe(alg);
      expect(h.kid === undefined).toBe(alg === "HS256");
      // Refresh tokens never leave chatgate: always HS256.
      expect(decodeProtectedHeader(admin.refreshToken)).toEqual({ alg: "HS256", typ: "chatgate-refresh+jwt" });
    });

    test("every attack on an access token gets 401 (user and admin routes)", async () => {
      const u = await seedUser(t);
      await expectTokenAttacksRefused(t, { method: "GET", path: "/api/auth/me" }, u.accessToken);
      await expectTokenAttacksRefused(t, { method: "GET", path: "/api/admin/tokens" }, admin.accessToken);
    });

    test("every attack on a chat token gets 401", async () => {
      const k = await createKey(t);
      const brain = await seedBrain(t.ctx.db, { grant: [k.owner.user.id] });
      const { token } = await json(await t.request("POST", `/api-key/chat-token?brain_id=${brain}`, { token: k.key }));
      expect(decodeProtectedHeader(token).alg).toBe(alg);
      const attacks = await tokenAttacks(t, token, { accepts: ["chat"] });
      const verify = (tok: string) => t.ctx.authn.authenticate(new Request("http://x/", { headers: { authorization: `Bearer ${tok}` } }), ["chat"]);
      expect((await verify(token)).ok).toBe(true);
      for (const [name, tok] of Object.entries(attacks)) if (tok !== null) expect((await verify(tok)).ok, name).toBe(false);
    });

    if (alg !== "HS256") {
      test("the asymmetric attacks are really built", async () => {
        const names = Object.keys(await tokenAttacks(t, admin.accessToken));
        for (const n of ["HS256 keyed with the public key PEM, right kid", "embedded jwk header", "jku header", "unknown kid", "alg none, right kid"]) {
          expect(names).toContain(n);
        }
      });
    }
  });
}
