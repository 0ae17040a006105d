import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeApp, seedUser, type TestApp } from "../helpers";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp({ LOGIN_MAX_FAILURES: "3", LOGIN_ACCOUNT_MAX_FAILURES: "3", LOGIN_WINDOW: "600", TRUST_PROXY: "true" });
}, 60_000);
afterAll(() => t.close());

let ipSeq = 0;
const newIp = () => `192.0.2.${++ipSeq}`;
const login = (username: string, password: string, ip: string) =>
  t.request("POST", "/api/v1/chat/authenticate", { body: { username, password }, headers: { "x-forwarded-for": ip } });
const statuses = async (n: number, f: () => Promise<Response>) => (await Promise.all(Array.from({ length: n }, f))).map((r) => r.status);
const tally = (s: number[]) => ({ 200: s.filter((x) => x === 200).length, 401: s.filter((x) => x === 401).length, 429: s.filter((x) => x === 429).length });

describe("login throttling under concurrency", () => {
  test("concurrent guesses at one account: only the limit's worth reach the password check", async () => {
    const s = await seedUser(t);
    const got = tally(await statuses(20, () => login(s.user.email, "wrong-password", newIp())));
    expect(got).toEqual({ 200: 0, 401: 3, 429: 17 });
    expect((await login(s.user.email, s.password, newIp())).status).toBe(429);
  });

  test("concurrent guesses from one address at many accounts: the address limit holds", async () => {
    const ip = newIp();
    const got = tally(await statuses(12, () => login(`nobody-${crypto.randomUUID()}@example.test`, "wrong-password", ip)));
    expect(got).toEqual({ 200: 0, 401: 3, 429: 9 });
  });

  test("successful logins are not held against their address", async () => {
    const ip = newIp();
    const users = await Promise.all(Array.from({ length: 5 }, () => seedUser(t)));
    for (const u of users) expect((await login(u.user.email, u.password, ip)).status).toBe(200);
    expect((await login(users[0]!.user.email, "wrong-password", ip)).status).toBe(401);
  });
});
