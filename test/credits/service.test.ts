import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq, sql } from "drizzle-orm";
import { reconcileOnce, startReconciler } from "../../src/credits/reconciler";
import { recordStatements } from "../chat/statements";
import type { Credits } from "../../src/credits/service";
import type { DB } from "../../src/db/client";
import { creditLedger, creditReservations } from "../../src/db/schema";
import { AppError } from "../../src/http/errors";
import { makeApp, seedUser, type TestApp } from "../helpers";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 30_000);
afterAll(() => t.close());

const creditsOf = (app: TestApp): Credits => app.ctx.services.credits.credits;
const credits = () => creditsOf(t);
/** A fresh handle on a reservation by id, as another request or instance would hold it. */
const handle = (id: string) => credits().reservation(id);

const FLOW = "0b6c3f6e-3d59-4c1a-9d2e-5c7a1f0e8b11";

async function userWith(amount: number) {
  const { user } = await seedUser(t);
  if (amount > 0) await credits().grant({ userId: user.id, amount, reason: "test", createdBy: null });
  return user.id;
}

/** `{ ok, reservationId }` as the tests read it; `c`: another app's service (two instances). */
async function reserve(userId: string, amount = 1, ttlSec = 600, c: Credits = credits()) {
  const r = await c.reserve({ userId, amount, chatflowId: FLOW, ttlSec });
  return r ? { ok: true as const, reservationId: r.id, reservation: r } : { ok: false as const };
}

async function ledgerOf(db: DB, userId: string) {
  return db.select().from(creditLedger).where(eq(creditLedger.userId, userId)).orderBy(creditLedger.id);
}

async function statusOf(db: DB, id: string) {
  const [r] = await db.select().from(creditReservations).where(eq(creditReservations.id, id));
  return r!;
}

/** Moves a reservation's deadline into the past, as if its stream had outlived RESERVATION_TIMEOUT. */
async function expire(db: DB, id: string) {
  await db.update(creditReservations).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(creditReservations.id, id));
}

describe("reserveCredits", () => {
  test("60 concurrent reservations against credits for 7 succeed exactly 7 times", async () => {
    const userId = await userWith(7);
    const results = await Promise.all(Array.from({ length: 60 }, () => reserve(userId)));
    expect(results.filter((r) => r.ok)).toHaveLength(7);
    expect((await credits().balance(userId)).credits_remaining).toBe(0);
    const charges = (await ledgerOf(t.ctx.db, userId)).filter((l) => l.kind === "charge");
    expect(charges).toHaveLength(7);
    expect(charges.every((c) => c.delta === -1 && c.reason === `prediction:${FLOW}` && c.reservationId)).toBe(true);
    const held = await t.ctx.db.select().from(creditReservations).where(eq(creditReservations.userId, userId));
    expect(held).toHaveLength(7);
  });

  test("without enough credits nothing is written", async () => {
    const userId = await userWith(2);
    expect(await reserve(userId, 3)).toEqual({ ok: false });
    expect((await credits().balance(userId)).credits_remaining).toBe(2);
    expect(await ledgerOf(t.ctx.db, userId)).toHaveLength(1); // the grant only
    const none = await reserve(await userWith(0));
    expect(none).toEqual({ ok: false });
  });

  test("a free chatflow reserves 0 without a balance and without a ledger row", async () => {
    const userId = await userWith(0);
    const r = await reserve(userId, 0);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect((await statusOf(t.ctx.db, r.reservationId)).amount).toBe(0);
    expect(await ledgerOf(t.ctx.db, userId)).toHaveLength(0);
    expect(await handle(r.reservationId).refund("upstream_error")).toBe(true);
    expect(await ledgerOf(t.ctx.db, userId)).toHaveLength(0);
  });

  test("a negative amount is a programming error", async () => {
    await expect(reserve(await userWith(1), -1)).rejects.toThrow();
  });

  test("the reserved-credits counter counts credits", async () => {
    const before = t.ctx.metrics.counter("chatgate_credits_reserved_total", "").get();
    await reserve(await userWith(5), 3);
    expect(t.ctx.metrics.counter("chatgate_credits_reserved_total", "").get()).toBe(before + 3);
  });
});

describe("settle and refund", () => {
  test("refund twice gives the credits back once", async () => {
    const userId = await userWith(3);
    const r = await reserve(userId, 2);
    if (!r.ok) throw new Error("reserve failed");
    const before = t.ctx.metrics.counter("chatgate_credits_refunded_total", "").get({ reason: "request" });
    const [a, b] = await Promise.all([handle(r.reservationId).refund("upstream_error"), handle(r.reservationId).refund("upstream_error")]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    expect(await handle(r.reservationId).refund("upstream_error")).toBe(false);
    expect((await credits().balance(userId)).credits_remaining).toBe(3);
    const refunds = (await ledgerOf(t.ctx.db, userId)).filter((l) => l.kind === "refund");
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ delta: 2, reason: "upstream_error", reservationId: r.reservationId });
    expect((await statusOf(t.ctx.db, r.reservationId)).status).toBe("refunded");
    expect(t.ctx.metrics.counter("chatgate_credits_refunded_total", "").get({ reason: "request" })).toBe(before + 2);
  });

  test("settle is idempotent and a settled reservation is never refunded", async () => {
    const userId = await userWith(1);
    const r = await reserve(userId);
    if (!r.ok) throw new Error("reserve failed");
    expect(await handle(r.reservationId).settle()).toBe(true);
    expect(await handle(r.reservationId).settle()).toBe(false);
    expect(await handle(r.reservationId).refund("late")).toBe(false);
    expect((await credits().balance(userId)).credits_remaining).toBe(0);
    const row = await statusOf(t.ctx.db, r.reservationId);
    expect(row.status).toBe("settled");
    expect(row.settledAt).toBeInstanceOf(Date);
  });

  test("concurrent refund and settle of the same reservation: exactly one wins", async () => {
    const userId = await userWith(20);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await reserve(userId);
      if (r.ok) ids.push(r.reservationId);
    }
    const outcomes = await Promise.all(
      ids.map(async (id) => {
        const [refunded, settled] = await Promise.all([handle(id).refund("race"), handle(id).settle()]);
        expect(refunded !== settled).toBe(true);
        return refunded;
      }),
    );
    const refundedCount = outcomes.filter(Boolean).length;
    expect((await credits().balance(userId)).credits_remaining).toBe(refundedCount);
    expect((await ledgerOf(t.ctx.db, userId)).filter((l) => l.kind === "refund")).toHaveLength(refundedCount);
  });

  test("markStarted sets started_at once", async () => {
    const r = await reserve(await userWith(1));
    if (!r.ok) throw new Error("reserve failed");
    expect(await handle(r.reservationId).markStarted()).toBe(true);
    const first = (await statusOf(t.ctx.db, r.reservationId)).startedAt;
    expect(first).toBeInstanceOf(Date);
    expect(await handle(r.reservationId).markStarted()).toBe(false);
    expect((await statusOf(t.ctx.db, r.reservationId)).startedAt).toEqual(first);
  });
});

describe("balances and grants", () => {
  test("a user without credits has 0, last updated at creation", async () => {
    const { user } = await seedUser(t);
    expect(await credits().balance(user.id)).toEqual({ user_id: user.id, credits_remaining: 0, last_updated: user.createdAt.toISOString() });
  });

  test("grants add up; a correction may not go below zero", async () => {
    const userId = await userWith(0);
    await credits().grant({ userId, amount: 5, reason: "welcome", createdBy: null });
    const after = await credits().grant({ userId, amount: -3, reason: "correction", createdBy: null });
    expect(after.credits_remaining).toBe(2);
    const err = await credits()
      .grant({ userId, amount: -3, reason: "too much", createdBy: null })
      .catch((e) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe("CONFLICT");
    expect((await credits().balance(userId)).credits_remaining).toBe(2);
    expect((await ledgerOf(t.ctx.db, userId)).map((l) => [l.kind, l.delta])).toEqual([
      ["grant", 5],
      ["grant", -3],
    ]);
    const none = await credits()
      .grant({ userId: await userWith(0), amount: -1, reason: "x", createdBy: null })
      .catch((e) => e);
    expect(none.code).toBe("CONFLICT");
  });

  test("unknown user → NOT_FOUND", async () => {
    expect(
      (
        await credits()
          .grant({ userId: "usr_missing", amount: 1, reason: "x", createdBy: null })
          .catch((e) => e)
      ).code,
    ).toBe("NOT_FOUND");
    expect(
      (
        await credits()
          .balance("usr_missing")
          .catch((e) => e)
      ).code,
    ).toBe("NOT_FOUND");
  });

  test("the balance can never be negative, even written directly", async () => {
    const userId = await userWith(1);
    const err = await t.ctx.db.execute(sql`update credit_balances set balance = -1 where user_id = ${userId}`).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
  });
});

describe("reconciler", () => {
  async function expiredPair(db: DB) {
    const userId = await userWith(10);
    const started = await reserve(userId, 2);
    const unstarted = await reserve(userId, 3);
    const fresh = await reserve(userId, 1);
    if (!started.ok || !unstarted.ok || !fresh.ok) throw new Error("reserve failed");
    await handle(started.reservationId).markStarted();
    await expire(db, started.reservationId);
    await expire(db, unstarted.reservationId);
    return { userId, started: started.reservationId, unstarted: unstarted.reservationId, fresh: fresh.reservationId };
  }

  test("two reconcilers at once settle the started and refund the unstarted expired reservation exactly once", async () => {
    const p = await expiredPair(t.ctx.db);
    const [a, b] = await Promise.all([reconcileOnce(t.ctx.db), reconcileOnce(t.ctx.db)]);
    // The app's own background reconciler may take part too, so the proof is in the rows.
    expect(a.settled + b.settled).toBeLessThanOrEqual(1);
    expect(a.refunded + b.refunded).toBeLessThanOrEqual(1);
    expect((await statusOf(t.ctx.db, p.started)).status).toBe("settled");
    expect((await statusOf(t.ctx.db, p.unstarted)).status).toBe("refunded");
    expect((await statusOf(t.ctx.db, p.fresh)).status).toBe("held");
    expect((await credits().balance(p.userId)).credits_remaining).toBe(10 - 2 - 1);
    const refunds = (await ledgerOf(t.ctx.db, p.userId)).filter((l) => l.kind === "refund");
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ delta: 3, reason: "reservation_expired", reservationId: p.unstarted });
    const again = await reconcileOnce(t.ctx.db);
    expect((await credits().balance(p.userId)).credits_remaining).toBe(7);
    expect(again.refunded + again.settled).toBe(0);
  });

  test("a pass is two statements and no transaction: refunded balances are locked for one statement", async () => {
    const rec = recordStatements(t.ctx.db);
    try {
      const p = await expiredPair(t.ctx.db);
      rec.clear();
      await reconcileOnce(t.ctx.db);
      expect(rec.entries.filter((e) => e.kind === "transaction")).toEqual([]);
      // The app's own reconciler (every 5 s) may run a pass meanwhile: each pass is the same two.
      const statements = rec.entries.filter((e) => e.kind === "statement" && /credit_/.test(e.sql));
      const passes = statements.filter((e) => e.kind === "statement" && e.sql.includes("with flipped as")).length;
      expect(passes).toBeGreaterThanOrEqual(1);
      expect(statements).toHaveLength(2 * passes);
      expect((await credits().balance(p.userId)).credits_remaining).toBe(10 - 2 - 1);
      expect((await ledgerOf(t.ctx.db, p.userId)).filter((l) => l.kind === "refund")).toHaveLength(1);
    } finally {
      rec.uninstall();
    }
  });

  test("the background worker reconciles on its own and stops cleanly", async () => {
    const p = await expiredPair(t.ctx.db);
    const worker = startReconciler(creditsOf(t), t.ctx.log, 10);
    try {
      for (let i = 0; i < 500 && (await statusOf(t.ctx.db, p.unstarted)).status === "held"; i++) await Bun.sleep(10);
    } finally {
      await worker.stop();
    }
    expect((await statusOf(t.ctx.db, p.unstarted)).status).toBe("refunded");
    expect((await statusOf(t.ctx.db, p.started)).status).toBe("settled");
    expect((await credits().balance(p.userId)).credits_remaining).toBe(7);
    const text = t.ctx.metrics.render();
    expect(text).toContain('chatgate_credits_refunded_total{reason="expired"}');
    expect(text).toContain("chatgate_credits_reserved_total");
  });

  test("a late refund from the request after the reconciler refunded does nothing", async () => {
    const p = await expiredPair(t.ctx.db);
    await reconcileOnce(t.ctx.db);
    expect(await handle(p.unstarted).refund("upstream_error")).toBe(false);
    expect(await handle(p.started).settle()).toBe(false);
    expect((await credits().balance(p.userId)).credits_remaining).toBe(7);
  });

  test.if(!!process.env.TEST_DATABASE_URL)("two app instances on one Postgres schema: reserve and reconcile exactly once", async () => {
    const other = await makeApp({}, { schema: t.schema });
    try {
      const userId = await userWith(7);
      const results = await Promise.all(Array.from({ length: 60 }, (_, i) => reserve(userId, 1, 600, creditsOf(i % 2 ? other : t))));
      const ok = results.filter((r) => r.ok);
      expect(ok).toHaveLength(7);
      expect((await credits().balance(userId)).credits_remaining).toBe(0);
      // Three answers had started (charged), four had not (refunded), all on a "dead" instance.
      for (const [i, r] of ok.entries()) {
        if (i < 3) await handle(r.reservationId).markStarted();
        await expire(t.ctx.db, r.reservationId);
      }
      const passes = await Promise.all([reconcileOnce(t.ctx.db), reconcileOnce(other.ctx.db), reconcileOnce(t.ctx.db), reconcileOnce(other.ctx.db)]);
      // Both apps' background reconcilers may join in; the counts can only be lower, never higher.
      expect(passes.reduce((s, p) => s + p.refunded, 0)).toBeLessThanOrEqual(4);
      expect(passes.reduce((s, p) => s + p.settled, 0)).toBeLessThanOrEqual(3);
      const statuses = await t.ctx.db.select({ s: creditReservations.status }).from(creditReservations).where(eq(creditReservations.userId, userId));
      expect(statuses.filter((r) => r.s === "settled")).toHaveLength(3);
      expect(statuses.filter((r) => r.s === "refunded")).toHaveLength(4);
      expect((await credits().balance(userId)).credits_remaining).toBe(4);
      expect((await ledgerOf(t.ctx.db, userId)).filter((l) => l.kind === "refund")).toHaveLength(4);
      const rows = await t.ctx.db
        .select()
        .from(creditReservations)
        .where(and(eq(creditReservations.userId, userId), eq(creditReservations.status, "held")));
      expect(rows).toHaveLength(0);
    } finally {
      await other.close();
    }
  });
});

describe("the Reservation handle", () => {
  test("markStarted runs once per handle; a close waits for it and later closes do nothing", async () => {
    const rec = recordStatements(t.ctx.db);
    try {
      const r = await creditsOf(t).reserve({ userId: await userWith(2), amount: 2, chatflowId: FLOW, ttlSec: 600 });
      if (!r) throw new Error("reserve failed");
      rec.clear();
      const [a, b] = await Promise.all([r.markStarted(), r.markStarted()]);
      expect([a, b]).toEqual([true, true]);
      expect(await r.settle()).toBe(true);
      expect(await r.settle()).toBe(false);
      expect(await r.refund("late")).toBe(false);
      // One mark, one settle: the repeats did not reach the database (the app's own reconciler
      // may run meanwhile; its statements are the ones about expiry).
      expect(rec.entries.filter((e) => e.kind === "statement" && /credit_reservations/.test(e.sql) && !/expires_at/.test(e.sql))).toHaveLength(2);
      expect((await statusOf(t.ctx.db, r.id)).status).toBe("settled");
    } finally {
      rec.uninstall();
    }
  });

  test("a closing statement that fails leaves the handle open for the fallback refund", async () => {
    const userId = await userWith(3);
    const r = await creditsOf(t).reserve({ userId, amount: 3, chatflowId: FLOW, ttlSec: 600 });
    if (!r) throw new Error("reserve failed");
    const err = await r
      .closeWith(true, async () => {
        throw new Error("answer refused");
      })
      .catch((e) => e);
    expect(err.message).toBe("answer refused");
    expect(await r.refund("upstream_failed")).toBe(true);
    expect((await credits().balance(userId)).credits_remaining).toBe(3);
  });
});
