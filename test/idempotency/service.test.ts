import { afterAll, beforeAll, expect, test } from "bun:test";
import { and, eq, sql } from "drizzle-orm";
import { idempotencyKeys } from "../../src/db/schema";
import { beginIdempotent, completeIdempotent, releaseIdempotent, type IdempotencyScope } from "../../src/idempotency/service";
import { makeApp, type TestApp } from "../helpers";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());

const scope = (key: string): IdempotencyScope => ({ scope: "test", userId: "usr_x", key });
const row = async (key: string) =>
  (
    await t.ctx.db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.scope, "test"), eq(idempotencyKeys.key, key)))
  )[0];

test("same key: first is new, a concurrent retry is in progress, another body conflicts, then replay", async () => {
  const first = scope("k1");
  const [a, b] = await Promise.all([beginIdempotent(t.ctx.db, first, "h"), beginIdempotent(t.ctx.db, scope("k1"), "h")]);
  expect([a.state, b.state].sort()).toEqual(["in_progress", "new"]);
  expect((await beginIdempotent(t.ctx.db, scope("k1"), "other")).state).toBe("conflict");
  const owner = a.state === "new" ? first : scope("k1");
  if (a.state !== "new") owner.claim = (await row("k1"))!.claim!;
  await completeIdempotent(t.ctx.db, owner, 200, { ok: 1 });
  expect(await beginIdempotent(t.ctx.db, scope("k1"), "h")).toEqual({ state: "replay", statusCode: 200, response: { ok: 1 } });
});

test("a stale claim taken over cannot be completed or released by its old holder", async () => {
  const old = scope("k2");
  expect((await beginIdempotent(t.ctx.db, old, "h")).state).toBe("new");
  await t.ctx.db.execute(sql`update idempotency_keys set created_at = now() - interval '11 minutes' where key = 'k2'`);
  const retry = scope("k2");
  expect((await beginIdempotent(t.ctx.db, retry, "h")).state).toBe("new");
  await completeIdempotent(t.ctx.db, old, 200, { from: "old" });
  await releaseIdempotent(t.ctx.db, old);
  expect(await row("k2")).toMatchObject({ status: "pending", claim: retry.claim });
  await completeIdempotent(t.ctx.db, retry, 200, { from: "retry" });
  expect(await beginIdempotent(t.ctx.db, scope("k2"), "h")).toEqual({ state: "replay", statusCode: 200, response: { from: "retry" } });
});
