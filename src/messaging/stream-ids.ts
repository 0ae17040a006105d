import { and, ne, sql } from "drizzle-orm";
import type { DB } from "../db/client";
import { contacts } from "./schema";
import { MESSAGING_ERRORS } from "./errors";
import type { UserState } from "../kernel/principal";

// Stream ids chatgate hands out itself: `customer-<n>` is the Stream user of chatgate user n (the
// one /stream-chat/token signs for), `customer-<contact id>` a contact's default and `chatgate`
// the sender. Messages go out as `chatgate`, so addressing one of these ids would let a user post
// into another customer's support channel. Matched without case: Stream's id rules may change.
const RESERVED = /^(customer-|chatgate$)/i;

/** Whether `id` is in chatgate's namespace and not the caller's own `customer-<n>`. */
const reservedForOthers = (user: UserState, id: string) => RESERVED.test(id) && id !== `customer-${user.customerId}`;

/**
 * Runs `write` (which stores a contact addressing `streamUserId`) once the caller may address it:
 * admins any id; others their own `customer-<n>` and ids no other owner's contact addresses (the
 * first owner claims an id). The check and the write share a transaction under an advisory lock
 * on the id, so two owners racing for one id cannot both win.
 */
export async function withStreamIdClaim<T>(db: DB, user: UserState, streamUserId: string | null | undefined, write: (tx: DB) => Promise<T>): Promise<T> {
  if (user.role === "admin" || streamUserId == null) return write(db);
  if (reservedForOthers(user, streamUserId)) throw MESSAGING_ERRORS.STREAM_ID_RESERVED();
  return db.transaction(async (txn) => {
    const tx = txn as unknown as DB;
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`stream-id:${streamUserId.toLowerCase()}`}))`);
    const [other] = await tx
      .select({ id: contacts.id })
      .from(contacts)
      .where(and(sql`lower(${contacts.streamUserId}) = ${streamUserId.toLowerCase()}`, ne(contacts.ownerId, user.id)))
      .limit(1);
    if (other) throw MESSAGING_ERRORS.STREAM_ID_CLAIMED();
    return write(tx);
  });
}

/**
 * chatgate's namespace is checked again at send time, for contacts stored before the rule or
 * whose owner has since lost the admin role. (Claims on other ids are settled when a contact is
 * written: at send time a later admin contact would otherwise take the id from its first owner.)
 */
export function assertMayAddress(user: UserState, recipients: { id: string; streamUserId: string | null }[]): void {
  if (user.role === "admin") return;
  const bad = recipients.find((c) => c.streamUserId !== null && reservedForOthers(user, c.streamUserId));
  if (bad) throw MESSAGING_ERRORS.RECIPIENT_STREAM_ID(bad.id);
}
