import { afterAll, beforeAll, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import fc from "fast-check";
import { reconcileOnce } from "../../src/credits/reconciler";
import { creditLedger, creditReservations } from "../../src/db/schema";
import { makeApp, seedUser, type TestApp } from "../helpers";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 30_000);
afterAll(() => t.close());

type Op =
  | { kind: "reserve"; amount: number }
  | { kind: "grant"; amount: number }
  | { kind: "refund"; index: number }
  | { kind: "settle"; index: number }
  | { kind: "start"; index: number }
  | { kind: "expire"; index: number }
  | { kind: "reconcile" };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("reserve" as const), amount: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ kind: fc.constant("grant" as const), amount: fc.integer({ min: -5, max: 5 }).filter((n) => n !== 0) }),
  fc.record({ kind: fc.constant("refund" as const), index: fc.nat(20) }),
  fc.record({ kind: fc.constant("settle" as const), index: fc.nat(20) }),
  fc.record({ kind: fc.constant("start" as const), index: fc.nat(20) }),
  fc.record({ kind: fc.constant("expire" as const), index: fc.nat(20) }),
  fc.constant({ kind: "reconcile" as const }),
);

// Whatever mix of operations runs at once, the balance is never negative, always equals the sum of
// the ledger, and every closed reservation is accounted for exactly once.
test("random concurrent credit operations keep balance = sum(ledger) ≥ 0", async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 8 }), fc.array(op, { minLength: 1, maxLength: 25 }), async (initial, ops) => {
      const { user } = await seedUser(t);
      const db = t.ctx.db;
      const credits = t.ctx.services.credits.credits;
      if (initial > 0) await credits.grant({ userId: user.id, amount: initial, reason: "initial", createdBy: null });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await credits.reserve({ userId: user.id, amount: 0, chatflowId: "flow", ttlSec: 600 });
        if (r) ids.push(r.id);
      }
      const pick = (i: number) => ids[i % ids.length]!;
      await Promise.all(
        ops.map(async (o) => {
          switch (o.kind) {
            case "reserve": {
              const r = await credits.reserve({ userId: user.id, amount: o.amount, chatflowId: "flow", ttlSec: 600 });
              if (r) ids.push(r.id);
              return;
            }
            case "grant":
              return credits.grant({ userId: user.id, amount: o.amount, reason: "prop", createdBy: null }).catch((e) => {
                if (e.code !== "CONFLICT") throw e;
              });
            case "refund":
              return credits.reservation(pick(o.index)).refund("prop");
            case "settle":
              return credits.reservation(pick(o.index)).settle();
            case "start":
              return credits.reservation(pick(o.index)).markStarted();
            case "expire":
              return db
                .update(creditReservations)
                .set({ expiresAt: sql`now() - interval '1 second'` })
                .where(eq(creditReservations.id, pick(o.index)));
            case "reconcile":
              return reconcileOnce(db);
          }
        }),
      );
      const balance = (await credits.balance(user.id)).credits_remaining;
      const ledger = await db.select().from(creditLedger).where(eq(creditLedger.userId, user.id));
      expect(balance).toBeGreaterThanOrEqual(0);
      expect(balance).toBe(ledger.reduce((s, l) => s + l.delta, 0));
      const reservations = await db.select().from(creditReservations).where(eq(creditReservations.userId, user.id));
      for (const r of reservations) {
        const rows = ledger.filter((l) => l.reservationId === r.id);
        const charges = rows.filter((l) => l.kind === "charge").length;
        const refunds = rows.filter((l) => l.kind === "refund").length;
        expect(charges).toBe(r.amount > 0 ? 1 : 0);
        expect(refunds).toBe(r.amount > 0 && r.status === "refunded" ? 1 : 0);
      }
    }),
    { numRuns: 25 },
  );
}, 120_000);
