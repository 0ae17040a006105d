import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeApp, seedUser, type TestApp } from "../helpers";

// Small limits so the test stays quick: 3 failures per (account, address) and per address,
// 8 per account from addresses the account has not signed in from.
let t: TestApp;
beforeAll(async () => {
  t = await makeApp({ LOGIN_MAX_FAILURES: "3", LOGIN_ACCOUNT_MAX_FAILURES: "8", LOGIN_WINDOW: "600", TRUST_PROXY: "true" });
}, 60_000);
afterAll(() => t.close());

let ipSeq = 0;
const newIp = () => `203.0.113.${++ipSeq}`;
const login = (username: string, password: string, ip: string) =>
  t.request("POST", "/api/v1/chat/authenticate", { body: { username, password }, headers: { "x-forwarded-for": ip } });

describe("lockout: nobody can lock an owner out of their own address", () => {
  test("wrong passwords from rotating addresses stop at the account ceiling, and the owner still gets in from a known address", async () => {
    const owner = await seedUser(t, { role: "admin" });
    const home = newIp();
    expect((await login(owner.user.email, owner.password, home)).status).toBe(200);

    const answers: number[] = [];
    for (let i = 0; i < 12; i++) answers.push((await login(owner.user.email, `guess-${i}`, newIp())).status);
    // The guess rate on the account is bounded: 8 guesses per window, then 429 before any check.
    expect(answers).toEqual([...Array(8).fill(401), ...Array(4).fill(429)]);

    expect((await login(owner.user.email, owner.password, home)).status).toBe(200);
    // The owner's success does not give the attackers a fresh allowance.
    expect((await login(owner.user.email, "one-more-guess", newIp())).status).toBe(429);
    // The trade-off: from an address the account never signed in from, the ceiling applies.
    expect((await login(owner.user.email, owner.password, newIp())).status).toBe(429);
  });

  test("guesses from a known address are still limited per (account, address)", async () => {
    const owner = await seedUser(t);
    const home = newIp();
    expect((await login(owner.user.email, owner.password, home)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await login(owner.user.email, `guess-${i}`, home)).status).toBe(401);
    expect((await login(owner.user.email, owner.password, home)).status).toBe(429);
    // Another account's owner behind the same address is held by the per-address limit.
    const neighbour = await seedUser(t);
    expect((await login(neighbour.user.email, neighbour.password, home)).status).toBe(429);
  });
});
