import { expect, test } from "bun:test";
import { hashPassword, verifyPassword } from "../../src/identity/passwords";

test("concurrent hashes all complete and verify (the hashing slots queue, never drop)", async () => {
  const passwords = Array.from({ length: 6 }, (_, i) => `password-number-${i}`);
  const hashes = await Promise.all(passwords.map((p) => hashPassword(p)));
  const checks = await Promise.all(hashes.map((h, i) => verifyPassword(passwords[i]!, h)));
  expect(checks).toEqual(passwords.map(() => true));
  expect(await verifyPassword("wrong-password", hashes[0]!)).toBe(false);
  expect(hashes[0]).toStartWith("$argon2id$v=19$m=19456,t=2");
});

test("the event loop stays free while hashes queue", async () => {
  const flood = Promise.all(Array.from({ length: 8 }, (_, i) => hashPassword(`flood-${i}-password`)));
  // A timer scheduled during the flood must fire long before the flood ends: hashing runs on
  // worker threads and the queue is a promise chain, so the loop is never blocked.
  let timerFiredFirst = false;
  let floodDone = false;
  const timer = new Promise<void>((r) => setTimeout(() => ((timerFiredFirst = !floodDone), r()), 5));
  await Promise.all([timer, flood.then(() => (floodDone = true))]);
  expect(timerFiredFirst).toBe(true);
});
