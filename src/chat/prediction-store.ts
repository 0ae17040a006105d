// The two statements a prediction costs the database: one before its upstream call (credits
// reserved, session upserted, question stored) and one after it (answer stored, reservation
// settled or refunded, question marked failed). Each is one SQL statement of data-modifying CTEs,
// so it is atomic without a transaction and holds the user's balance row lock for that statement
// only: concurrent predictions of one user queue on the row for one statement each, never behind a
// transaction waiting on a network round trip (issue 16, "hot rows").
import { sql } from "drizzle-orm";
import { rowsOf, type DB } from "../db/client";
import type { ChatSession } from "./schema";
import type { Flip } from "../credits/reservation";
import { predictionReason, type Credits, type Reservation } from "../credits/service";
import { newId } from "../ids";
import { topicOf } from "./sessions";
import { CHAT_ERRORS } from "./errors";

export interface BeginInput {
  userId: string;
  chatflowId: string;
  amount: number;
  ttlSec: number;
  /** The caller's session id, or a new one. */
  sessionId: string;
  question: string;
}

export type Begun = { ok: true; reservation: Reservation; session: ChatSession; question: { id: string; createdAt: Date } } | { ok: false; reason: "insufficient_credits" };

interface BeginRow {
  foreign_session: number;
  taken: number;
  reservation_id: string | null;
  session_id: string | null;
  chatflow_id: string | null;
  name: string | null;
  topic: string | null;
  session_created: number | string | null;
  session_updated: number | string | null;
  question_created: number | string | null;
}

// Timestamps as epoch milliseconds: the drivers disagree on how they return a raw timestamptz.
const ms = (v: number | string | null) => new Date(Number(v));
const dbCode = (e: unknown): unknown => (e as { code?: unknown })?.code ?? (e as { cause?: { code?: unknown } })?.cause?.code;

/**
 * One statement: the balance UPDATE is guarded in its WHERE (no overdraw under any concurrency);
 * only when it took the amount (or the chatflow is free) are the session, reservation, ledger row
 * and question written. A session id another user holds → NOT_FOUND with nothing written. Should
 * that session appear between the snapshot and the upsert (a concurrent creation by its owner), the
 * guard at the end divides by zero, which aborts the whole statement: the credits are never taken
 * without a reservation.
 */
export async function beginPrediction(credits: Credits, input: BeginInput): Promise<Begun> {
  const { db } = credits;
  const { userId, chatflowId, amount, sessionId } = input;
  if (!Number.isSafeInteger(amount) || amount < 0) throw new Error("beginPrediction: amount must be a whole number >= 0");
  const reservationId = newId("rsv");
  const questionId = newId("msg");
  const ttl = Math.max(1, Math.floor(input.ttlSec));
  let rows: BeginRow[];
  try {
    rows = rowsOf<BeginRow>(
      await db.execute(sql`
        with foreign_session as (
          select 1 from chat_sessions where id = ${sessionId} and user_id <> ${userId}
        ), taken as (
          update credit_balances set balance = balance - ${amount}::bigint, updated_at = now()
          where user_id = ${userId} and balance >= ${amount}::bigint and ${amount}::bigint > 0
            and not exists (select 1 from foreign_session)
          returning user_id
        ), allowed as (
          select 1 as ok where not exists (select 1 from foreign_session)
            and (${amount}::bigint = 0 or exists (select 1 from taken))
        ), sess as (
          insert into chat_sessions (id, user_id, chatflow_id, topic)
          select ${sessionId}, ${userId}, ${chatflowId}, ${topicOf(input.question)} from allowed
          on conflict (id) do update set
            topic = coalesce(chat_sessions.topic, excluded.topic),
            chatflow_id = coalesce(chat_sessions.chatflow_id, excluded.chatflow_id),
            updated_at = now()
          where chat_sessions.user_id = excluded.user_id
          returning id, chatflow_id, name, topic, created_at, updated_at
        ), rsv as (
          insert into credit_reservations (id, user_id, amount, chatflow_id, session_id, expires_at)
          select ${reservationId}, ${userId}, ${amount}::bigint, ${chatflowId}, sess.id, now() + make_interval(secs => ${ttl}::int) from sess
          returning id
        ), ledger as (
          insert into credit_ledger (user_id, delta, kind, reason, reservation_id)
          select ${userId}, -${amount}::bigint, 'charge', ${predictionReason(chatflowId)}, rsv.id from rsv where ${amount}::bigint > 0
        ), question as (
          insert into chat_messages (id, session_id, role, content, status)
          select ${questionId}, sess.id, 'user', ${input.question}, 'complete' from sess
          returning created_at
        )
        select
          (select count(*) from foreign_session)::int as foreign_session,
          (select count(*) from taken)::int as taken,
          (select id from rsv) as reservation_id,
          sess.id as session_id, sess.chatflow_id, sess.name, sess.topic,
          extract(epoch from sess.created_at)::float8 * 1000 as session_created,
          extract(epoch from sess.updated_at)::float8 * 1000 as session_updated,
          (select extract(epoch from created_at)::float8 * 1000 from question) as question_created,
          case when (select count(*) from taken) > (select count(*) from sess) then 1 / (select count(*) from sess)::int end as guard
        from (select 1) as one left join sess on true
      `),
    );
  } catch (err) {
    if (dbCode(err) === "22012") throw CHAT_ERRORS.SESSION_NOT_FOUND();
    throw err;
  }
  const row = rows[0]!;
  if (row.foreign_session > 0) throw CHAT_ERRORS.SESSION_NOT_FOUND();
  if (!row.reservation_id || !row.session_id) return { ok: false, reason: "insufficient_credits" };
  return {
    ok: true,
    reservation: credits.reserved(row.reservation_id, amount),
    session: { id: row.session_id, userId, chatflowId: row.chatflow_id, name: row.name, topic: row.topic, createdAt: ms(row.session_created), updatedAt: ms(row.session_updated) },
    question: { id: questionId, createdAt: ms(row.question_created) },
  };
}

export interface EndInput {
  reservation: Reservation;
  sessionId: string;
  questionId: string;
  /** Settle (the answer's content reached the client) or refund. */
  charged: boolean;
  refundReason: string;
  /** The answer to store, if any. */
  answer?: { id: string; content: string; status: "complete" | "incomplete" | "error"; metadata?: Record<string, unknown> };
  /** No answer will follow: the question must not read as an answered turn. */
  failQuestion: boolean;
}

/**
 * One statement: store the answer, flip the reservation from `held` (settled, with `started_at` set
 * when it was not yet, or refunded), give a refund back to the balance with its ledger row, and mark
 * the question failed. The status flip is the guard, so a refund racing the reconciler or a repeat
 * gives back at most once. Returns whether this call made the flip. The statement is the
 * reservation's close (`closeWith`), so the handle knows it is closed and counts the refund.
 */
export function endPrediction(db: DB, e: EndInput): Promise<boolean> {
  const refund = !e.charged;
  return e.reservation.closeWith(refund, () => endStatement(db, e));
}

async function endStatement(db: DB, e: EndInput): Promise<Flip> {
  const a = e.answer;
  const refund = !e.charged;
  const reservationId = e.reservation.id;
  const rows = rowsOf<{ flipped: number; amount: number | string | null }>(
    await db.execute(sql`
      with flipped as (
        update credit_reservations
        set status = ${refund ? "refunded" : "settled"}, settled_at = now(),
            started_at = case when ${refund}::boolean then started_at else coalesce(started_at, now()) end
        where id = ${reservationId} and status = 'held'
        returning user_id, amount
      ), given_back as (
        update credit_balances set balance = credit_balances.balance + flipped.amount, updated_at = now()
        from flipped where ${refund}::boolean and flipped.amount > 0 and credit_balances.user_id = flipped.user_id
        returning 1
      ), touched as (
        -- The balance row before the session row, as beginPrediction takes them: concurrent
        -- predictions in one session never lock the two in opposite orders (no deadlock).
        update chat_sessions set updated_at = now()
        where id = ${e.sessionId} and ${a !== undefined}::boolean and (select count(*) from given_back) >= 0
      ), answer as (
        insert into chat_messages (id, session_id, role, content, status, metadata)
        select ${a?.id ?? ""}, ${e.sessionId}, 'assistant', ${a?.content ?? ""}, ${a?.status ?? "complete"}, ${a?.metadata ? JSON.stringify(a.metadata) : null}::jsonb
        where ${a !== undefined}::boolean
      ), failed as (
        update chat_messages set status = 'failed' where id = ${e.questionId} and role = 'user' and ${e.failQuestion}::boolean
      ), ledger as (
        insert into credit_ledger (user_id, delta, kind, reason, reservation_id)
        select user_id, amount, 'refund', ${e.refundReason}, ${reservationId} from flipped where ${refund}::boolean and amount > 0
      )
      select (select count(*) from flipped)::int as flipped, (select amount from flipped) as amount
    `),
  );
  const row = rows[0];
  if (!row || row.flipped === 0) return { flipped: false };
  return { flipped: true, refunded: refund ? Number(row.amount ?? 0) : 0 };
}

/** Settles or refunds alone: the fallback when the combined statement failed (e.g. an answer Postgres refuses). */
export function settleOrRefund(e: Pick<EndInput, "reservation" | "charged" | "refundReason">): Promise<boolean> {
  return e.charged ? e.reservation.settle() : e.reservation.refund(e.refundReason);
}
