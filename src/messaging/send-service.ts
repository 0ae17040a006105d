import { and, inArray } from "drizzle-orm";
import type { DB } from "../db/client";
import { contacts, messages, type Contact } from "./schema";
import { isIdempotencyKey, withIdempotency, type IdempotencyClaim } from "../idempotency/with-idempotency";
import { newId } from "../ids";
import type { UserState } from "../kernel/principal";
import { MESSAGING_ERRORS } from "./errors";
import { MAX_TEXT_CHARS, type SendBulkInput, type SendPrivateInput, type SendResult, type SendTemplateInput } from "./model";
import { ownedBy } from "./owner";
import { renderTemplate } from "./render";
import { assertMayAddress } from "./stream-ids";
import { findTemplate } from "./templates-service";

export type SendRequest = ({ kind: "template" } & SendTemplateInput) | ({ kind: "bulk" } & SendBulkInput) | ({ kind: "private" } & SendPrivateInput);

export interface SendDeps {
  db: DB;
  maxRecipients: number;
  /** Called after the messages are committed (metrics, waking the outbox worker). */
  onQueued(count: number): void;
}

interface Draft {
  recipientId: string;
  text: string;
  templateId: string | null;
}

function checkText(text: string, recipientId?: string): void {
  if (text.trim() === "") throw MESSAGING_ERRORS.EMPTY_TEXT();
  if (text.length > MAX_TEXT_CHARS) throw MESSAGING_ERRORS.TEXT_TOO_LONG(MAX_TEXT_CHARS, recipientId);
}

/** Duplicate ids in one request get one message each: the first occurrence decides the order. */
const distinct = (ids: string[]) => [...new Set(ids)];

async function recipientsOf(db: DB, user: UserState, ids: string[]): Promise<Contact[]> {
  const rows = await db
    .select()
    .from(contacts)
    .where(and(inArray(contacts.id, ids), ownedBy(contacts.ownerId, user)));
  const byId = new Map(rows.map((c) => [c.id, c]));
  const recipients = ids.map((id) => {
    const c = byId.get(id);
    if (!c) throw MESSAGING_ERRORS.CONTACT_NOT_FOUND(id);
    return c;
  });
  assertMayAddress(user, recipients);
  return recipients;
}

/** Every check that can refuse the request, before anything is written. */
async function draft(db: DB, user: UserState, req: SendRequest, maxRecipients: number): Promise<Draft[]> {
  const ids = distinct(req.kind === "private" ? [req.recipientId] : req.recipientIds);
  if (ids.length > maxRecipients) throw MESSAGING_ERRORS.TOO_MANY_RECIPIENTS(maxRecipients);
  if (req.kind !== "template") {
    checkText(req.message);
    const recipients = await recipientsOf(db, user, ids);
    return recipients.map((c) => ({ recipientId: c.id, text: req.message, templateId: null }));
  }
  const template = await findTemplate(db, user, req.templateId);
  const recipients = await recipientsOf(db, user, ids);
  return recipients.map((c) => {
    const r = renderTemplate(template.body, req.placeholders ?? {}, c);
    if (!r.ok) throw MESSAGING_ERRORS.MISSING_PLACEHOLDER(r.missing, c.id);
    checkText(r.text, c.id);
    return { recipientId: c.id, text: r.text, templateId: template.id };
  });
}

async function queue(db: DB, user: UserState, drafts: Draft[], claim: IdempotencyClaim): Promise<SendResult> {
  // All or nothing: the messages and the idempotent answer commit together.
  return db.transaction(async (tx) => {
    const rows = await tx
      .insert(messages)
      .values(drafts.map((d) => ({ id: newId("msg"), senderId: user.id, ...d })))
      .returning({ id: messages.id, recipientId: messages.recipientId, status: messages.status });
    const result: SendResult = { success: true, count: rows.length, messages: rows };
    await claim.complete(result, 200, tx as unknown as DB);
    return result;
  });
}

/** Validates, renders and queues one send request; a repeated Idempotency-Key replays the first answer. */
export async function sendMessages(deps: SendDeps, user: UserState, req: SendRequest, idempotencyKey?: string): Promise<SendResult> {
  const { db } = deps;
  if (idempotencyKey !== undefined && !isIdempotencyKey(idempotencyKey)) throw MESSAGING_ERRORS.BAD_IDEMPOTENCY_KEY();
  return withIdempotency(
    {
      db,
      scope: "messages",
      userId: user.id,
      key: idempotencyKey,
      request: req,
      replay: (response) => response as SendResult,
      conflict: MESSAGING_ERRORS.IDEMPOTENCY_CONFLICT,
      inProgress: MESSAGING_ERRORS.IDEMPOTENCY_IN_PROGRESS,
    },
    async (claim) => {
      const result = await queue(db, user, await draft(db, user, req, deps.maxRecipients), claim);
      deps.onQueued(result.count);
      return result;
    },
  );
}
