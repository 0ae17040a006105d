import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../../src/config";
import { users } from "../../src/db/schema";
import { newId } from "../../src/ids";
import { IDENTITY_ERRORS } from "../../src/identity/errors";
import { hashPassword, passwordProblem } from "../../src/identity/passwords";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";

// NIST SP 800-63B: at least 8 characters, no composition rules, but refuse passwords from a list
// of common ones (zxcvbn-ts's common dictionary, bundled) and trivially guessable patterns.
let t: TestApp;
let admin: SeededUser;
beforeAll(async () => {
  t = await makeApp();
  admin = await seedUser(t, { role: "admin" });
}, 60_000);
afterAll(() => t.close());

const WEAK: [string, string][] = [
  ["12345678", IDENTITY_ERRORS.PASSWORD_COMMON.message],
  ["password", IDENTITY_ERRORS.PASSWORD_COMMON.message],
  ["Passw0rd", IDENTITY_ERRORS.PASSWORD_COMMON.message],
  ["qwertyuiop", IDENTITY_ERRORS.PASSWORD_COMMON.message],
  ["aaaaaaaaaa", IDENTITY_ERRORS.PASSWORD_REPEAT.message],
  ["abcdefghij", IDENTITY_ERRORS.PASSWORD_SEQUENCE.message],
  ["        ", IDENTITY_ERRORS.PASSWORD_WHITESPACE.message],
  ["\u00a0\u2003\u00a0\u2003\u00a0\u2003\u00a0\u2003", IDENTITY_ERRORS.PASSWORD_WHITESPACE.message],
];

describe("long passwords are judged on all of their length", () => {
  test("a weak first 100 characters do not condemn a strong rest; weak throughout is refused", () => {
    // zxcvbn scores "abab…" (100 characters) 0: before, the strong rest was never read.
    expect(passwordProblem(`${"ab".repeat(50)}violet-Harbor-93-quietly-Tangent`)).toBeUndefined();
    expect(passwordProblem("ab".repeat(150))).toBe(IDENTITY_ERRORS.PASSWORD_REPEAT.message);
  });
});

describe("weak passwords are refused wherever a password is set, saying why", () => {
  test("POST /api/auth/users: 422 in the detail shape", async () => {
    for (const [password, detail] of WEAK) {
      const res = await t.request("POST", "/api/auth/users", { token: admin.accessToken, body: { email: "weak@example.test", password } });
      expect(res.status).toBe(422);
      expect(await json(res)).toEqual({ detail });
    }
    const ok = await t.request("POST", "/api/auth/users", { token: admin.accessToken, body: { email: "weak@example.test", password: "contraseña_segura" } });
    expect(ok.status).toBe(201);
  });

  test("PATCH /api/auth/users/{id}: 422, and the old password still signs in", async () => {
    const u = await seedUser(t);
    for (const [password, detail] of WEAK) {
      const res = await t.request("PATCH", `/api/auth/users/${u.user.id}`, { token: admin.accessToken, body: { password } });
      expect(res.status).toBe(422);
      expect(await json(res)).toEqual({ detail });
    }
    const login = await t.request("POST", "/api/v1/chat/authenticate", { body: { username: u.user.email, password: u.password } });
    expect(login.status).toBe(200);
  });

  test("an account that already has a weak password can still sign in (the rule applies when one is set)", async () => {
    const email = "legacy-weak@example.test";
    await t.ctx.db.insert(users).values({ id: newId("usr"), email, passwordHash: await hashPassword("12345678") });
    const login = await t.request("POST", "/api/v1/chat/authenticate", { body: { username: email, password: "12345678" } });
    expect(login.status).toBe(200);
  });

  test("ADMIN_PASSWORD is checked at start-up", () => {
    expect(() => loadConfig({ ADMIN_PASSWORD: "12345678" })).toThrow(ConfigError);
    expect(() => loadConfig({ ADMIN_PASSWORD: "12345678" })).toThrow(IDENTITY_ERRORS.PASSWORD_COMMON.message);
  });

  test("CLI user create: exit 1 with the reason", async () => {
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../../src/index.ts"), "user", "create", "--email", "cli-weak@example.test", "--password", "12345678"], {
      env: { PATH: process.env.PATH ?? "", DATA_DIR: "memory://" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stderr, code] = await Promise.all([new Response(proc.stderr as ReadableStream).text(), proc.exited]);
    expect(code).toBe(1);
    expect(stderr).toContain(IDENTITY_ERRORS.PASSWORD_COMMON.message);
  }, 30_000);
});
