// One prediction's hold on a user's credits: held → settled (the charge stands) or refunded (the
// amount goes back, with a ledger row). Every flip is guarded by `status = 'held'` in its WHERE,
// so a repeat, a race with the reconciler or another instance closes a reservation at most once.
import { and, eq, isNull, sql } from "drizzle-orm";
import { rowsOf, type DB } from "../db/client";
import { creditReservations } from "./schema";

/** What a closing flip reports: whether this call made it, and (refunds) the amount given back. */
export interface Flip {
  flipped: boolean;
  refunded?: number;
}

/** The credits service's side of a handle: where it writes and whom it tells about refunds. */
export interface ReservationOwner {
  db: DB;
  countRefunded(amount: number, reason: string): void;
}

/**
 * A handle on one reservation. `markStarted` runs once (later calls share its result); the first
 * of `settle`/`refund`/`closeWith` to succeed closes it and later ones answer false without a
 * statement. A close waits for an in-flight started mark, so a settle never overtakes it.
 */
export class Reservation {
  private started?: Promise<boolean>;
  private closing?: Promise<boolean>;

  constructor(
    private readonly owner: ReservationOwner,
    readonly id: string,
  ) {}

  /** Records that the answer began reaching the client: from now on the reconciler settles it, never refunds it. */
  markStarted(): Promise<boolean> {
    this.started ??= markStartedRow(this.owner.db, this.id);
    return this.started;
  }

  /** held → settled, recording the start too when it was not yet. True when this call made the change. */
  settle(): Promise<boolean> {
    return this.closeWith(false, async () => ({ flipped: await settleRow(this.owner.db, this.id) }));
  }

  /** held → refunded, the amount given back with a ledger row carrying `reason`. True when this call made the change. */
  refund(reason: string): Promise<boolean> {
    return this.closeWith(true, () => refundRow(this.owner.db, this.id, reason));
  }

  /**
   * Closes the reservation through a caller's statement that performs the same guarded flip
   * among other writes (the prediction store's one-statement end). A statement that throws
   * leaves the handle open, so a fallback `settle`/`refund` may follow.
   */
  closeWith(refund: boolean, statement: () => Promise<Flip>): Promise<boolean> {
    if (this.closing)
      return this.closing.then(
        () => false,
        () => this.closeWith(refund, statement),
      );
    const run = (async () => {
      await this.started?.catch(() => {});
      const flip = await statement();
      if (flip.flipped && refund) this.owner.countRefunded(flip.refunded ?? 0, "request");
      return flip.flipped;
    })();
    this.closing = run;
    run.catch(() => {
      if (this.closing === run) this.closing = undefined;
    });
    return run;
  }
}

async function markStartedRow(db: DB, id: string): Promise<boolean> {
  const rows = await db
    .update(creditReservations)
    .set({ startedAt: sql`now()` })
    .where(and(eq(creditReservations.id, id), isNull(creditReservations.startedAt)))
    .returning({ id: creditReservations.id });
  return rows.length === 1;
}

async function settleRow(db: DB, id: string): Promise<boolean> {
  const rows = await db
    .update(creditReservations)
    .set({ status: "settled", settledAt: sql`now()`, startedAt: sql`coalesce(${creditReservations.startedAt}, now())` })
    .where(and(eq(creditReservations.id, id), eq(creditReservations.status, "held")))
    .returning({ id: creditReservations.id });
  return rows.length === 1;
}

async function refundRow(db: DB, id: string, reason: string): Promise<Flip> {
  // One statement, not a transaction: the balance row is locked for this statement only.
  const [row] = rowsOf<{ amount: number | string }>(
    await db.execute(sql`
      with flipped as (
        update credit_reservations set status = 'refunded', settled_at = now()
        where id = ${id} and status = 'held'
        returning user_id, amount
      ), given_back as (
        update credit_balances set balance = credit_balances.balance + flipped.amount, updated_at = now()
        from flipped where flipped.amount > 0 and credit_balances.user_id = flipped.user_id
      ), ledger as (
        insert into credit_ledger (user_id, delta, kind, reason, reservation_id)
        select user_id, amount, 'refund', ${reason}, ${id} from flipped where amount > 0
      )
      select amount from flipped
    `),
  );
  return row ? { flipped: true, refunded: Number(row.amount) } : { flipped: false };
}
