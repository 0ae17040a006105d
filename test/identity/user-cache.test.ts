import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import type { DB } from "../../src/db/client";
import { users } from "../../src/db/schema";
import { userChanged } from "../../src/identity/session-ends";
import { UserCache } from "../../src/identity/user-cache";
import { makeApp, seedUser, type TestApp } from "../helpers";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());

/**
 * A Drizzle handle whose first `select().from().where()` reads the row at once but hands it back
 * only when `release()` is called: a read that started before a change and lands after it.
 */
function slowFirstRead(db: DB) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let read!: () => void;
  const readDone = new Promise<void>((r) => (read = r));
  let first = true;
  const wrapped = {
    select: () => ({
      from: (table: typeof users) => ({
        where: async (cond: ReturnType<typeof eq>) => {
          const rows = await db.select().from(table).where(cond);
          if (first) {
            first = false;
            read();
            await gate;
          }
          return rows;
        },
      }),
    }),
  } as unknown as DB;
  return { db: wrapped, readDone, release };
}

describe("user cache", () => {
  test("a read in flight when the user changes is not cached over the change", async () => {
    const s = await seedUser(t);
    const slow = slowFirstRead(t.ctx.db);
    const cache = new UserCache(slow.db, t.ctx.bus);

    const inFlight = cache.get(s.user.id);
    await slow.readDone; // the old row (enabled) has been read
    await t.ctx.db.update(users).set({ disabledAt: sql`now()` }).where(eq(users.id, s.user.id));
    await t.ctx.bus.publish([userChanged(s.user.id)]);
    cache.invalidate(s.user.id);
    slow.release();
    expect((await inFlight)!.disabled).toBe(false); // answered from before the change: fine once

    expect((await cache.get(s.user.id))!.disabled).toBe(true);
  });

  test("an unchanged user is served from the cache", async () => {
    const s = await seedUser(t);
    let reads = 0;
    const counting = {
      select: () => {
        reads++;
        return t.ctx.db.select();
      },
    } as unknown as DB;
    const cache = new UserCache(counting, t.ctx.bus);
    expect((await cache.get(s.user.id))!.id).toBe(s.user.id);
    expect((await cache.get(s.user.id))!.id).toBe(s.user.id);
    expect(reads).toBe(1);
  });
});
