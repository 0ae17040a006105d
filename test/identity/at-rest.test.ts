import { afterAll, beforeAll, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { refreshTokens, users } from "../../src/db/schema";
import { sha256Hex } from "../../src/ids";
import { makeApp, seedUser, type TestApp } from "../helpers";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());

test("refresh tokens are stored as SHA-256 only and passwords as argon2id at OWASP's floor", async () => {
  const u = await seedUser(t);
  const res = await t.request("POST", "/api/v1/chat/authenticate", { body: { username: u.user.email, password: u.password } });
  expect(res.status).toBe(200);
  const { refresh_token } = (await res.json()) as { refresh_token: string };

  const rows = await t.ctx.db.select().from(refreshTokens).where(eq(refreshTokens.userId, u.user.id));
  expect(rows.length).toBeGreaterThan(0);
  expect(rows.map((r) => r.tokenHash)).toContain(sha256Hex(refresh_token));
  expect(JSON.stringify(rows)).not.toContain(refresh_token);
  expect(JSON.stringify(rows)).not.toContain(refresh_token.split(".")[2]!);

  const [row] = await t.ctx.db.select().from(users).where(eq(users.id, u.user.id));
  expect(row!.passwordHash).toStartWith("$argon2id$v=19$m=19456,t=2,");
  expect(row!.passwordHash).not.toContain(u.password);
});
