// Unknown user vs wrong password: the same status, headers and body on both login routes, and
// mean times printed for the report (not asserted: timing asserts are flaky on a shared machine).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";

const ROUNDS = 10;
let t: TestApp;
let user: SeededUser;

beforeAll(async () => {
  // Throttling would turn later attempts into 429s; this suite is about the 401s.
  t = await makeApp({ LOGIN_MAX_FAILURES: "10000" });
  user = await seedUser(t, { role: "user" });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

interface Attempt {
  status: number;
  body: string;
  www: string | null;
  ms: number;
}

async function attempt(path: string, username: string, password: string): Promise<Attempt> {
  const form = path === "/api/auth/token";
  const started = performance.now();
  const res = await t.request(
    "POST",
    path,
    form ? { body: new URLSearchParams({ username, password }), headers: { "content-type": "application/x-www-form-urlencoded" } } : { body: { username, password } },
  );
  const body = await res.text();
  return { status: res.status, body, www: res.headers.get("www-authenticate"), ms: performance.now() - started };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("login: unknown user and wrong password look the same", () => {
  for (const path of ["/api/v1/chat/authenticate", "/api/auth/token"]) {
    test(`${path}: same status, WWW-Authenticate and body; mean times reported`, async () => {
      const unknown: Attempt[] = [];
      const wrong: Attempt[] = [];
      // Interleaved, so drift on the machine affects both series alike.
      for (let i = 0; i < ROUNDS; i++) {
        unknown.push(await attempt(path, `nobody-${i}@example.test`, "some wrong password"));
        wrong.push(await attempt(path, user.user.email, "some wrong password"));
      }
      for (const a of [...unknown, ...wrong]) {
        expect(a.status).toBe(401);
        expect(a.body).toBe(unknown[0]!.body);
        expect(a.www).toBe(unknown[0]!.www);
      }
      const u = mean(unknown.map((a) => a.ms));
      const w = mean(wrong.map((a) => a.ms));
      console.log(`login timing ${path}: unknown user ${u.toFixed(1)} ms, wrong password ${w.toFixed(1)} ms (mean of ${ROUNDS})`);
      expect(Number.isFinite(u) && Number.isFinite(w)).toBe(true);
    }, 60_000);
  }
});
