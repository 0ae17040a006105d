// A separate resource server (its own Bun.serve on loopback) checks chatgate's chat tokens the
// way the README tells resource-server authors to: jose's remote JWKS against the real JWKS URL
// of a listening chatgate, pinned issuer, audience, typ and algorithm, and the brain_id claim.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { eq, sql } from "drizzle-orm";
import { signingKeys } from "../../src/db/schema";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { createKey, seedBrain, type SeededKey } from "../keys/helpers";

for (const alg of ["EdDSA", "ES256"] as const) {
  describe(`resource server verifying ${alg} chat tokens through the JWKS`, () => {
    let t: TestApp;
    let chatgate: ReturnType<TestApp["app"]["listen"]>;
    let rs: ReturnType<typeof Bun.serve>;
    let counter: ReturnType<typeof Bun.serve>;
    let admin: SeededUser;
    let key: SeededKey;
    let brain: string;
    let jwksFetches = 0;
    let JWKS: ReturnType<typeof createRemoteJWKSet>;

    beforeAll(async () => {
      t = await makeApp({ JWT_ALG: alg });
      chatgate = t.app.listen({ port: 0, hostname: "127.0.0.1" });
      const base = `http://127.0.0.1:${chatgate.server!.port}`;
      const jwksUrl = new URL(`${base}/.well-known/jwks.json`);
      // Counts what the resource server fetches (through a loopback proxy of its own).
      counter = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        fetch: async () => {
          jwksFetches++;
          return fetch(jwksUrl);
        },
      });
      // jose's defaults (10-minute cache, 30-second cooldown): a rotation must not depend on a refetch.
      JWKS = createRemoteJWKSet(new URL(`http://127.0.0.1:${counter.port}/jwks.json`));
      rs = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        async fetch(req) {
          const url = new URL(req.url);
          if (url.pathname === "/reload-keys") return (await JWKS.reload(), new Response("ok"));
          const token = /^Bearer (.+)$/.exec(req.headers.get("authorization") ?? "")?.[1];
          if (!token) return new Response("no token", { status: 401 });
          try {
            const { payload } = await jwtVerify(token, JWKS, {
              issuer: "chatgate",
              audience: "chatgate:chat",
              typ: "chatgate-chat+jwt",
              algorithms: [alg],
            });
            if (payload.brain_id !== url.searchParams.get("brain")) return new Response("wrong brain", { status: 403 });
            return Response.json({ user: payload.sub });
          } catch (e) {
            return new Response((e as Error).constructor.name, { status: 401 });
          }
        },
      });
      admin = await seedUser(t, { role: "admin" });
      key = await createKey(t);
      brain = await seedBrain(t.ctx.db, { grant: [key.owner.user.id] });
    }, 60_000);
    afterAll(async () => {
      rs?.stop(true);
      counter?.stop(true);
      await chatgate?.stop();
      await t.close();
    });

    const chatToken = async () => (await json(await t.request("POST", `/api-key/chat-token?brain_id=${brain}`, { token: key.key }))).token as string;
    const ask = (token: string, b = brain) => fetch(`http://127.0.0.1:${rs.port}/chat?brain=${b}`, { headers: { authorization: `Bearer ${token}` } });

    test("the JWKS is public, cacheable and names the signing key", async () => {
      const res = await fetch(`http://127.0.0.1:${chatgate.server!.port}/.well-known/jwks.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("public, max-age=300");
      const { keys } = await res.json();
      const token = await chatToken();
      // The current key and the next one, published ahead of its use.
      expect(keys).toHaveLength(2);
      expect(keys.map((k: { kid: string }) => k.kid)).toContain(decodeProtectedHeader(token).kid);
      for (const k of keys) {
        expect(k.alg).toBe(alg);
        expect(k.use).toBe("sig");
        expect(k.d).toBeUndefined();
      }
    });

    test("verifies chat tokens, checks the brain, refuses other kinds", async () => {
      const token = await chatToken();
      const ok = await ask(token);
      expect(ok.status).toBe(200);
      expect((await ok.json()).user).toBe(key.owner.user.id);
      expect((await ask(token, crypto.randomUUID())).status).toBe(403);
      // An access token is signed by the same key but is not a chat token (typ and aud).
      expect((await ask(admin.accessToken)).status).toBe(401);
    });

    test("keeps verifying across a rotation, old and new tokens, without refetching; refuses the retired key", async () => {
      const before = await chatToken();
      expect((await ask(before)).status).toBe(200);
      const fetches = jwksFetches;
      const rotated = await t.request("POST", "/api/admin/signing-keys/rotate", { token: admin.accessToken });
      expect(rotated.status).toBe(200);
      const r = await json(rotated);
      expect(r.previous.kid).toBe(decodeProtectedHeader(before).kid);
      const after = await chatToken();
      expect(decodeProtectedHeader(after).kid).toBe(r.kid);
      expect(r.kid).not.toBe(r.previous.kid);
      expect((await ask(after)).status).toBe(200);
      expect((await ask(before)).status).toBe(200);
      // The new key was in the JWKS the resource server already had.
      expect(jwksFetches).toBe(fetches);
      // The grace period ends (every token the old key signed has expired): it leaves the JWKS.
      await t.ctx.db.update(signingKeys).set({ notAfter: sql`now() - interval '1 second'` }).where(eq(signingKeys.kid, r.previous.kid));
      await t.ctx.services.signingKeys.store.load();
      const { keys } = await (await fetch(`http://127.0.0.1:${chatgate.server!.port}/.well-known/jwks.json`)).json();
      expect(keys.map((k: { kid: string }) => k.kid)).not.toContain(r.previous.kid);
      await fetch(`http://127.0.0.1:${rs.port}/reload-keys`);
      expect((await ask(before)).status).toBe(401);
      expect((await ask(after)).status).toBe(200);
      // chatgate refuses it too.
      const onChatgate = await t.ctx.authn.authenticate(new Request("http://x/", { headers: { authorization: `Bearer ${before}` } }), ["chat"]);
      expect(onChatgate.ok).toBe(false);
    });
  });
}
