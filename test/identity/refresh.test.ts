import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { refreshTokens } from "../../src/db/schema";
import { json, makeApp, seedUser, type TestApp } from "../helpers";

// Kept as literals because these tests pin the contract text (the contracts' own words):
// "Could not validate credentials".

let t: TestApp;
beforeAll(async () => {
  // Strict rotation (no reuse grace): what these tests pin; the grace has its own suite.
  t = await makeApp({ REFRESH_REUSE_GRACE: "0" });
}, 60_000);
afterAll(() => t.close());

const INVALID = { detail: "Could not validate credentials" };
const refresh = (refresh_token: string) => t.request("POST", "/api/v1/chat/refresh", { body: { refresh_token } });

describe("POST /api/v1/chat/refresh", () => {
  test("rotates: new access and refresh token; the old refresh token is spent", async () => {
    const s = await seedUser(t);
    const res = await refresh(s.refreshToken);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({ token_type: "bearer" });
    expect(body.refresh_token).not.toBe(s.refreshToken);
    expect((await t.request("GET", "/api/auth/me", { token: body.access_token })).status).toBe(200);
    const next = await refresh(body.refresh_token);
    expect(next.status).toBe(200);
  });

  test("only a hash is stored, and rotation keeps the session's absolute expiry", async () => {
    const s = await seedUser(t);
    const rows1 = await t.ctx.db.select().from(refreshTokens).where(eq(refreshTokens.userId, s.user.id));
    expect(rows1).toHaveLength(1);
    expect(JSON.stringify(rows1)).not.toContain(s.refreshToken);
    const body = await json(await refresh(s.refreshToken));
    const rows2 = await t.ctx.db.select().from(refreshTokens).where(eq(refreshTokens.userId, s.user.id));
    const child = rows2.find((r) => r.parentId === rows1[0]!.id)!;
    expect(child.familyId).toBe(rows1[0]!.familyId);
    expect(child.expiresAt.getTime()).toBe(rows1[0]!.expiresAt.getTime());
    expect(JSON.stringify(rows2)).not.toContain(body.refresh_token);
  });

  test("reuse of a rotated token revokes the whole family, descendants included", async () => {
    const s = await seedUser(t);
    const first = await json(await refresh(s.refreshToken));
    const second = await json(await refresh(first.refresh_token));
    const reuse = await refresh(s.refreshToken);
    expect(reuse.status).toBe(401);
    expect(reuse.headers.get("www-authenticate")).toBe("Bearer");
    expect(await json(reuse)).toEqual(INVALID);
    // The thief's and the victim's newest tokens are dead, and so are the session's access tokens.
    expect((await refresh(second.refresh_token)).status).toBe(401);
    for (const token of [s.accessToken, first.access_token, second.access_token]) {
      expect((await t.request("GET", "/api/auth/me", { token })).status).toBe(401);
    }
    expect(t.logs.some((l) => l.includes("refresh token reuse"))).toBe(true);
    // Another session of the same user is untouched.
    const other = await json(await t.request("POST", "/api/v1/chat/authenticate", { body: { username: s.user.email, password: s.password } }));
    expect((await refresh(other.refresh_token)).status).toBe(200);
  });

  test("twenty concurrent refreshes with one token: exactly one succeeds", async () => {
    const s = await seedUser(t);
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(s.refreshToken)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((x) => x === 200)).toHaveLength(1);
    expect(statuses.filter((x) => x === 401)).toHaveLength(19);
    const rows = await t.ctx.db.select().from(refreshTokens).where(eq(refreshTokens.userId, s.user.id));
    expect(rows).toHaveLength(2);
  });

  test("an access token, a garbage string and an expired refresh token are refused", async () => {
    const s = await seedUser(t);
    const claims = JSON.parse(Buffer.from(s.refreshToken.split(".")[1]!, "base64url").toString());
    const expired = await t.ctx.signer.sign("refresh", { sub: claims.sub, sid: claims.sid, jti: claims.jti }, -60);
    for (const token of [s.accessToken, "garbage", expired]) {
      const res = await refresh(token);
      expect(res.status).toBe(401);
      expect(await json(res)).toEqual(INVALID);
    }
    // None of those spent the real token.
    expect((await refresh(s.refreshToken)).status).toBe(200);
  });

  test("a correctly signed refresh token with no row is refused", async () => {
    const s = await seedUser(t);
    const forged = await t.ctx.signer.sign("refresh", { sub: s.user.id, sid: "ses_x", jti: "rt_unknown" }, 600);
    expect((await refresh(forged)).status).toBe(401);
  });

  test("missing refresh_token is 422", async () => {
    expect((await t.request("POST", "/api/v1/chat/refresh", { body: {} })).status).toBe(422);
  });
});
