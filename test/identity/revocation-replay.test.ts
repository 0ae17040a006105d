import { afterAll, beforeAll, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { rowsOf } from "../../src/db/client";
import { RevocationBus } from "../../src/kernel/revocations";
import { makeApp, type TestApp } from "../helpers";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());

test("a revocation whose lower seq commits after a higher one was read is still applied", async () => {
  const exp = new Date(Date.now() + 60_000);
  // As if another instance's transaction had taken a seq first and committed only later, with its
  // NOTIFY lost: the row appears below the highest seq this instance has already seen.
  const [taken] = rowsOf<{ seq: string }>(await t.ctx.db.execute(sql`select nextval(pg_get_serial_sequence('revocations', 'seq')) as seq`));
  await t.ctx.bus.publish([{ kind: "access", subject: "at_high", expiresAt: exp }]);
  await t.ctx.bus.catchUp();
  await t.ctx.db.execute(
    sql`insert into revocations (seq, kind, subject, expires_at) overriding system value values (${Number(taken!.seq)}, 'access', 'at_late', ${exp.toISOString()})`,
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

test("catch-up at any volume: an instance starting after 25,000 recent revocations refuses every one; expired rows are not held", async () => {
  const exp = new Date(Date.now() + 3_600_000).toISOString();
  await t.ctx.db.execute(sql`insert into revocations (kind, subject, expires_at) select 'session', 'bulk-' || i, ${exp}::timestamptz from generate_series(1, 25000) i`);
  await t.ctx.db.execute(sql`insert into revocations (kind, subject, expires_at) select 'session', 'gone-' || i, now() - interval '1 minute' from generate_series(1, 5000) i`);
  // A new instance's bus on the same database.
  const fresh = new RevocationBus(t.ctx.database, t.ctx.log);
  await fresh.catchUp();
  for (const i of [1, 10_000, 10_001, 24_999, 25_000]) expect(fresh.isRevoked("session", `bulk-${i}`)).toBe(true);
  expect(fresh.isRevoked("session", "gone-1")).toBe(false);
  expect(fresh.size.revoked).toBeGreaterThanOrEqual(25_000);
  expect(fresh.size.revoked).toBeLessThan(25_100);
  // The running bus pages forward past them too, and holds no expired entry.
  await t.ctx.bus.catchUp();
  expect(t.ctx.bus.isRevoked("session", "bulk-25000")).toBe(true);
  expect(t.ctx.bus.size.revoked).toBeLessThan(25_100);
}, 120_000);
