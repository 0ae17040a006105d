import { sql } from "drizzle-orm";
import { rowsOf, type DB } from "../db/client";
import type { EventSink } from "../kernel/events";

// Events nobody's request causes: a balance drifting below its threshold through charges made
// in single statements elsewhere, a key's expiry coming near. A notice row per crossing (inserted
// `on conflict do nothing` in the same transaction as the event) makes each fire once however
// many instances scan.

interface Low {
  user_id: string;
  balance: number | string;
  threshold: number | string;
}

const lowData = (r: Low) => ({ user_id: r.user_id, balance: Number(r.balance), threshold: Number(r.threshold) });

/**
 * Where a balance change is a transaction, call this in it: credits.low fires when the balance
 * is below the user's `low_credit_threshold` and had not been; at or above it, it re-arms.
 */
export async function observeBalance(tx: DB, events: EventSink, userId: string): Promise<void> {
  const [row] = rowsOf<Low & { below: boolean }>(
    await tx.execute(sql`
      select u.id as user_id, coalesce(b.balance, 0) as balance, u.low_credit_threshold as threshold,
             coalesce(b.balance, 0) < u.low_credit_threshold as below
        from users u left join credit_balances b on b.user_id = u.id where u.id = ${userId}`),
  );
  if (!row?.below) {
    await tx.execute(sql`delete from low_credit_alerts where user_id = ${userId}`);
    return;
  }
  const fresh = rowsOf(await tx.execute(sql`insert into low_credit_alerts (user_id) values (${userId}) on conflict do nothing returning user_id`));
  if (fresh.length) await events.emit(tx, "credits.low", lowData(row));
}

/** Every user at once: re-arms those back above, fires for those newly below. */
export async function scanLowCredits(db: DB, events: EventSink): Promise<number> {
  await db.execute(sql`
    delete from low_credit_alerts a using users u left join credit_balances b on b.user_id = u.id
     where a.user_id = u.id and (u.low_credit_threshold is null or coalesce(b.balance, 0) >= u.low_credit_threshold)`);
  return db.transaction(async (tx) => {
    const fired = rowsOf<Low>(
      await tx.execute(sql`
        with below as (
          select u.id as user_id, coalesce(b.balance, 0) as balance, u.low_credit_threshold as threshold
            from users u left join credit_balances b on b.user_id = u.id
           where u.low_credit_threshold is not null and coalesce(b.balance, 0) < u.low_credit_threshold
        ), fresh as (
          insert into low_credit_alerts (user_id) select user_id from below on conflict do nothing returning user_id
        )
        select below.* from below join fresh using (user_id)`),
    );
    for (const r of fired) await events.emit(tx, "credits.low", lowData(r));
    return fired.length;
  });
}

const NOTICES = [
  // 7 days before, unless already within a day (then only the 1-day notice).
  { notice: "7d", type: "api_key.expiring", when: sql`k.expires_at > now() + interval '1 day' and k.expires_at <= now() + interval '7 days'`, days: 7 },
  { notice: "1d", type: "api_key.expiring", when: sql`k.expires_at > now() and k.expires_at <= now() + interval '1 day'`, days: 1 },
  // Only recent expiries: a first scan must not announce every key that expired years ago.
  { notice: "expired", type: "api_key.expired", when: sql`k.expires_at <= now() and k.expires_at > now() - interval '7 days'`, days: 0 },
] as const;

/** api_key.expiring (7 days and 1 day before) and api_key.expired, once each per key. */
export async function scanKeyExpiry(db: DB, events: EventSink): Promise<number> {
  let n = 0;
  for (const { notice, type, when, days } of NOTICES) {
    n += await db.transaction(async (tx) => {
      const due = rowsOf<{ id: string; user_id: string; name: string; expires_ms: number | string }>(
        await tx.execute(sql`
          with due as (
            select k.id, k.user_id, k.name, extract(epoch from k.expires_at)::float8 * 1000 as expires_ms
              from api_keys k where k.revoked_at is null and k.expires_at is not null and ${when}
          ), fresh as (
            insert into key_expiry_notices (key_id, notice) select id, ${notice} from due on conflict do nothing returning key_id
          )
          select due.* from due join fresh on fresh.key_id = due.id`),
      );
      for (const k of due) {
        const data = { key_id: k.id, user_id: k.user_id, name: k.name, expires_at: new Date(Number(k.expires_ms)).toISOString() };
        await events.emit(tx, type, days ? { ...data, days } : data);
      }
      return due.length;
    });
  }
  return n;
}
