// REFRESH_REUSE_GRACE: a client that retries a refresh (lost response, two tabs, parallel
// requests after a 401) keeps its session. Within the grace the rotated token may be exchanged
// again, each exchange giving a fresh pair in the same family (same session id, same absolute
// expiry: no new session is ever minted this way); after the grace, reuse revokes the family.
// "After the grace" is made by moving the token's used_at back, not by waiting.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { refreshTokens } from "../../src/db/schema";
import { MAX_SUCCESSORS } from "../../src/identity/refresh";
import { json, makeApp, seedUser, testDatabaseUrl, type TestApp } from "../helpers";

// Kept as literals because these tests pin the contract text (the contracts' own words):
// "Could not validate credentials".

let t: TestApp;
let strict: TestApp;
beforeAll(async () => {
  t = await makeApp();
  strict = await makeApp({ REFRESH_REUSE_GRACE: "0" });
}, 60_000);
afterAll(async () => {
  await t?.close();
  await strict?.close();
});

const refresh = (app: TestApp, refresh_token: string) => app.request("POST", "/api/v1/chat/refresh", { body: { refresh_token } });
const claims = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { sid: string; jti: string };
const me = (app: TestApp, token: string) => app.request("GET", "/api/auth/me", { token });

describe("refresh reuse grace (default 10 s)", () => {
  test("the default is 10 seconds", () => {
    expect(t.config.refreshReuseGraceSec).toBe(10);
  });

  test("a retried refresh within the grace succeeds, in the same family, and the session survives", async () => {
    const s = await seedUser(t);
    const first = await json(await refresh(t, s.refreshToken));
    const retry = await refresh(t, s.refreshToken);
    expect(retry.status).toBe(200);
    const second = await json(retry);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(claims(second.refresh_token).sid).toBe(claims(s.refreshToken).sid);
    // Both pairs work, and both refresh tokens rotate onward.
    for (const pair of [first, second]) {
      expect((await me(t, pair.access_token)).status).toBe(200);
      expect((await refresh(t, pair.refresh_token)).status).toBe(200);
    }
    const rows = await t.ctx.db.select().from(refreshTokens).where(eq(refreshTokens.userId, s.user.id));
    expect(new Set(rows.map((r) => r.familyId)).size).toBe(1);
    expect(new Set(rows.map((r) => r.expiresAt.getTime())).size).toBe(1);
    expect(rows.every((r) => r.revokedAt === null)).toBe(true);
  });

  test("twenty concurrent refreshes of one token all succeed, each with its own pair in the same family", async () => {
    const s = await seedUser(t);
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(t, s.refreshToken)));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    const bodies = await Promise.all(results.map((r) => json(r)));
    expect(new Set(bodies.map((b) => b.refresh_token)).size).toBe(20);
    expect(new Set(bodies.map((b) => claims(b.refresh_token).sid))).toEqual(new Set([claims(s.refreshToken).sid]));
    const rows = await t.ctx.db.select().from(refreshTokens).where(eq(refreshTokens.userId, s.user.id));
    expect(rows).toHaveLength(21);
    expect(rows.every((r) => r.revokedAt === null)).toBe(true);
    // The grace runs from the first use: retries do not move it.
    const parent = rows.find((r) => r.id === claims(s.refreshToken).jti)!;
    expect(parent.usedAt).not.toBeNull();
  });

  test.if(Boolean(testDatabaseUrl()))("two instances on one Postgres: ten concurrent refreshes on each all succeed, one family", async () => {
    const other = await makeApp({}, { schema: t.schema });
    try {
      const s = await seedUser(t);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => refresh(i % 2 ? other : t, s.refreshToken)));
      expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
      const rows = await t.ctx.db.select().from(refreshTokens).where(eq(refreshTokens.userId, s.user.id));
      expect(rows).toHaveLength(21);
      expect(new Set(rows.map((r) => r.familyId)).size).toBe(1);
    } finally {
      await other.close();
    }
  });

  test("one token has at most MAX_SUCCESSORS successors: a runaway retry loop is refused, the session lives on", async () => {
    const s = await seedUser(t);
    const results = await Promise.all(Array.from({ length: MAX_SUCCESSORS + 4 }, () => refresh(t, s.refreshToken)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((x) => x === 200)).toHaveLength(MAX_SUCCESSORS);
    expect(statuses.filter((x) => x === 401)).toHaveLength(4);
    const rows = await t.ctx.db.select().from(refreshTokens).where(eq(refreshTokens.userId, s.user.id));
    expect(rows).toHaveLength(MAX_SUCCESSORS + 1);
    expect(rows.every((r) => r.revokedAt === null)).toBe(true);
    const winner = await json(results.find((r) => r.status === 200)!);
    expect((await refresh(t, winner.refresh_token)).status).toBe(200);
  });

  test("after the grace, reuse revokes the family as before", async () => {
    const s = await seedUser(t);
    const first = await json(await refresh(t, s.refreshToken));
    await t.ctx.db
      .update(refreshTokens)
      .set({ usedAt: sql`now() - interval '11 seconds'` })
      .where(eq(refreshTokens.id, claims(s.refreshToken).jti));
    const reuse = await refresh(t, s.refreshToken);
    expect(reuse.status).toBe(401);
    expect(await json(reuse)).toEqual({ detail: "Could not validate credentials" });
    expect((await refresh(t, first.refresh_token)).status).toBe(401);
    expect((await me(t, first.access_token)).status).toBe(401);
  });

  test("a revoked session is not revived by the grace", async () => {
    const s = await seedUser(t);
    const first = await json(await refresh(t, s.refreshToken));
    expect((await t.request("POST", "/api/v1/chat/revoke", { token: first.access_token })).status).toBe(200);
    expect((await refresh(t, s.refreshToken)).status).toBe(401);
  });

  test("REFRESH_REUSE_GRACE=0 is strict: of twenty concurrent refreshes exactly one succeeds, and the family is revoked", async () => {
    expect(strict.config.refreshReuseGraceSec).toBe(0);
    const s = await seedUser(strict);
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(strict, s.refreshToken)));
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    const winner = await json(ok[0]!);
    expect((await refresh(strict, winner.refresh_token)).status).toBe(401);
  });

  test("a bad value stops start-up", () => {
    const { loadConfig } = require("../../src/config");
    expect(() => loadConfig({ REFRESH_REUSE_GRACE: "-1" })).toThrow(/REFRESH_REUSE_GRACE/);
  });
});
