import { afterAll, beforeAll, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { makeApp, type TestApp } from "../helpers";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());

test("a revocation whose lower seq commits after a higher one was read is still applied", async () => {
  const exp = new Date(Date.now() + 60_000);
  await t.ctx.bus.publish([{ kind: "access", subject: "at_high", expiresAt: exp }]);
  await t.ctx.bus.catchUp();
  // As if another instance's transaction had taken seq 1 early and committed only now, with its
  // NOTIFY lost: the row appears below the highest seq this instance has already seen.
  await t.ctx.db.execute(
    sql`insert into revocations (seq, kind, subject, expires_at) overriding system value values (-1, 'access', 'at_late', ${exp.toISOString()})`,
  );
  expect(t.ctx.bus.isRevoked("access", "at_late")).toBe(false);
  await t.ctx.bus.catchUp();
  expect(t.ctx.bus.isRevoked("access", "at_late")).toBe(true);
});

test("the replay window applies each entry once (cache listeners are not re-fired)", async () => {
  let fired = 0;
  t.ctx.bus.onEvent((e) => {
    if (e.subject === "usr_once") fired++;
  });
  await t.ctx.bus.publish([{ kind: "user", subject: "usr_once", expiresAt: new Date(Date.now() + 60_000) }]);
  await t.ctx.bus.catchUp();
  await t.ctx.bus.catchUp();
  expect(fired).toBe(1);
});
