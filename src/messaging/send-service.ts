import { and, inArray } from "drizzle-orm";
import type { DB } from "../db/client";
import { contacts, messages, type Contact } from "./schema";
import { beginIdempotent, completeIdempotent, releaseIdempotent, requestHash, type IdempotencyScope } from "../idempotency/service";
import { newId } from "../ids";
import type { UserState } from "../kernel/principal";
import { messagingErrors } from "./errors";
import { MAX_TEXT_CHARS } from "./model";
import { ownedBy } from "./owner";
import { renderTemplate, type PlaceholderValue } from "./render";
import { assertMayAddress } from "./stream-ids";
import { findTemplate } from "./templates-service";

export type SendRequest =
  | { kind: "template"; templateId: string; recipientIds: string[]; placeholders?: Record<string, PlaceholderValue> }
  | { kind: "bulk"; recipientIds: string[]; message: string }
  | { kind: "private"; recipientId: string; message: string };

export interface SendResult {
  success: true;
  count: number;
  messages: { id: string; recipientId: string; status: string }[];
}

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
  if (text.trim() === "") throw messagingErrors.emptyText();
  if (text.length > MAX_TEXT_CHARS) throw messagingErrors.textTooLong(MAX_TEXT_CHARS, recipientId);
}

/** Duplicate ids in one request get one message each: the first occurrence decides the order. */
const distinct = (ids: string[]) => [...new Set(ids)];

async function recipientsOf(db: DB, user: UserState, ids: string[]): Promise<Contact[]> {
  const rows = await db.select().from(contacts).where(and(inArray(contacts.id, ids), ownedBy(contacts.ownerId, user)));
  const byId = new Map(rows.map((c) => [c.id, c]));
  const recipients = ids.map((id) => {
    const c = byId.get(id);
    if (!c) throw messagingErrors.contactNotFound(id);
    return c;
  });
  assertMayAddress(user, recipients);
  return recipients;
}

/** Every check that can refuse the request, before anything is written. */
async function draft(db: DB, user: UserState, req: SendRequest, maxRecipients: number): Promise<Draft[]> {
  const ids = distinct(req.kind === "private" ? [req.recipientId] : req.recipientIds);
  if (ids.length > maxRecipients) throw messagingErrors.tooManyRecipients(maxRecipients);
  if (req.kind !== "template") {
    checkText(req.message);
    const recipients = await recipientsOf(db, user, ids);
    return recipients.map((c) => ({ recipientId: c.id, text: req.message, templateId: null }));
  }
  const template = await findTemplate(db, user, req.templateId);
  const recipients = await recipientsOf(db, user, ids);
  return recipients.map((c) => {
    const r = renderTemplate(template.body, req.placeholders ?? {}, c);
    if (!r.ok) throw messagingErrors.missingPlaceholder(r.missing, c.id);
    checkText(r.text, c.id);
    return { recipientId: c.id, text: r.text, templateId: template.id };
  });
}

async function queue(db: DB, user: UserState, drafts: Draft[], idem?: IdempotencyScope): Promise<SendResult> {
  // All or nothing: the messages and the idempotent answer commit together.
  return db.transaction(async (tx) => {
    const rows = await tx
      .insert(messages)
      .values(drafts.map((d) => ({ id: newId("msg"), senderId: user.id, ...d })))
      .returning({ id: messages.id, recipientId: messages.recipientId, status: messages.status });
    const result: SendResult = { success: true, count: rows.length, messages: rows };
    if (idem) await completeIdempotent(tx as unknown as DB, idem, 200, result);
    return result;
  });
}

/** Validates, renders and queues one send request; a repeated Idempotency-Key replays the first answer. */
export async function sendMessages(deps: SendDeps, user: UserState, req: SendRequest, idempotencyKey?: string): Promise<SendResult> {
  const { db } = deps;
  if (idempotencyKey === undefined) {
    const result = await queue(db, user, await draft(db, user, req, deps.maxRecipients));
    deps.onQueued(result.count);
    return result;
  }
  if (!/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) throw messagingErrors.badIdempotencyKey();
  const scope: IdempotencyScope = { scope: "messages", userId: user.id, key: idempotencyKey };
  const begun = await beginIdempotent(db, scope, requestHash(req));
  if (begun.state === "replay") return begun.response as SendResult;
  if (begun.state === "conflict") throw messagingErrors.idempotencyConflict();
  if (begun.state === "in_progress") throw messagingErrors.idempotencyInProgress();
  try {
    const result = await queue(db, user, await draft(db, user, req, deps.maxRecipients), scope);
    deps.onQueued(result.count);
    return result;
  } catch (err) {
    await releaseIdempotent(db, scope);
    throw err;
  }
}
