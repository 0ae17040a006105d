// A refresh racing a revoke-all: the rotation inserts the family's next token while the revoke
// waits on the old token's row lock, so the revoke's UPDATE (whose snapshot predates the insert)
// never sees the new row, which then keeps minting access tokens. Whatever the interleaving, once
// both have finished no refresh token of the user may be left unrevoked.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq, isNull } from "drizzle-orm";
import { refreshTokens } from "../../src/db/schema";
import { json, makeApp, seedUser, type TestApp } from "../helpers";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const refresh = (refresh_token: string) => t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token } });

describe("refresh racing revoke-all", () => {
  test("no refresh token survives a revoke-all it raced (10 rounds of 20 refreshes)", async () => {
    for (let round = 0; round < 10; round++) {
      const s = await seedUser(t);
      // The revoke is sent among the refreshes, so it queues behind some of them on the row lock.
      const before = Array.from({ length: 10 }, () => refresh(s.refreshToken));
      const revoke = t.request("POST", "/api/v1/chat/revoke", { token: s.accessToken, body: { all_tokens: true } });
      const after = Array.from({ length: 10 }, () => refresh(s.refreshToken));
      const [revoked, ...results] = await Promise.all([revoke, ...before, ...after]);
      expect(revoked.status).toBe(200);
      const live = await t.ctx.db
        .select({ id: refreshTokens.id })
        .from(refreshTokens)
        .where(and(eq(refreshTokens.userId, s.user.id), isNull(refreshTokens.revokedAt)));
      expect(live).toEqual([]);
      // And none of the tokens the racing refreshes handed out rotates again.
      for (const r of results.filter((r) => r.status === 200)) {
        expect((await refresh((await json(r)).refresh_token)).status).toBe(401);
      }
    }
  }, 120_000);
});
