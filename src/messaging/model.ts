import { t, type TSchema } from "elysia";
import { pageFields } from "../http/paging";

// Limits that every write path shares; documented in the README's messaging section.
export const MAX_TEXT_CHARS = 4096;
export const MAX_NAME_CHARS = 200;

const attributeValue = t.Union([t.String({ maxLength: 1000 }), t.Number(), t.Boolean(), t.Null()]);

// The union carries the message: TypeBox reports a failed union, not the failed branch.
const nullable = <S extends TSchema>(schema: S, error: string) => t.Optional(t.Union([schema, t.Null()], { error }));

export const contactInput = t.Object({
  name: t.String({ minLength: 1, maxLength: MAX_NAME_CHARS, error: "name: must be 1 to 200 characters" }),
  email: nullable(t.String({ format: "email", maxLength: 320 }), "email: must be an email address"),
  phone: nullable(t.String({ minLength: 1, maxLength: 40 }), "phone: must be 1 to 40 characters"),
  streamUserId: nullable(t.String({ pattern: "^[A-Za-z0-9@_-]{1,64}$" }), "streamUserId: 1 to 64 of letters, digits, @ _ -"),
  attributes: t.Optional(
    t.Record(t.String({ pattern: "^[A-Za-z0-9_]{1,64}$" }), attributeValue, {
      error: "attributes: names of letters, digits and _, values strings (up to 1000), numbers, booleans or null",
    }),
  ),
});
export type ContactInput = typeof contactInput.static;
export const contactPatch = t.Partial(contactInput);

export const contact = t.Object({
  id: t.String(),
  ownerId: t.String(),
  name: t.String(),
  email: t.Union([t.String(), t.Null()]),
  phone: t.Union([t.String(), t.Null()]),
  streamUserId: t.Union([t.String(), t.Null()]),
  attributes: t.Record(t.String(), t.Any()),
  createdAt: t.Date(),
  updatedAt: t.Date(),
});
export type ContactView = typeof contact.static;

export const templateInput = t.Object({
  name: t.String({ minLength: 1, maxLength: MAX_NAME_CHARS, error: "name: must be 1 to 200 characters" }),
  body: t.String({ minLength: 1, maxLength: MAX_TEXT_CHARS, error: `body: must be 1 to ${MAX_TEXT_CHARS} characters` }),
});
export type TemplateInput = typeof templateInput.static;
export const templatePatch = t.Partial(templateInput);

export const template = t.Object({
  id: t.String(),
  ownerId: t.String(),
  name: t.String(),
  body: t.String(),
  placeholders: t.Array(t.String()),
  createdAt: t.Date(),
  updatedAt: t.Date(),
});
export type TemplateView = typeof template.static;

export const message = t.Object({
  id: t.String(),
  senderId: t.String(),
  recipientId: t.String(),
  templateId: t.Union([t.String(), t.Null()]),
  text: t.String(),
  status: t.Union([t.Literal("queued"), t.Literal("sent"), t.Literal("failed"), t.Literal("cancelled")]),
  attempts: t.Number(),
  lastError: t.Union([t.String(), t.Null()]),
  nextAttemptAt: t.Date(),
  createdAt: t.Date(),
  updatedAt: t.Date(),
  sentAt: t.Union([t.Date(), t.Null()]),
});
export type MessageView = typeof message.static;

const ids = t.Array(t.String({ minLength: 1, maxLength: 64 }), { minItems: 1, error: "recipientIds: must be a non-empty list of contact ids" });
// Length is checked after rendering, in the service, so the 422 names the real problem.
const text = t.String({ error: "message: must be a string" });
const placeholderValue = t.Union([t.String(), t.Number(), t.Boolean()]);

export const sendTemplateInput = t.Object({
  templateId: t.String({ minLength: 1, error: "templateId: is required" }),
  recipientIds: ids,
  placeholders: t.Optional(t.Record(t.String(), placeholderValue)),
});
export type SendTemplateInput = typeof sendTemplateInput.static;
export const sendBulkInput = t.Object({ recipientIds: ids, message: text });
export type SendBulkInput = typeof sendBulkInput.static;
export const sendPrivateInput = t.Object({ recipientId: t.String({ minLength: 1, error: "recipientId: is required" }), message: text });
export type SendPrivateInput = typeof sendPrivateInput.static;

export const sendResult = t.Object({
  success: t.Literal(true),
  count: t.Number(),
  messages: t.Array(t.Object({ id: t.String(), recipientId: t.String(), status: t.String() })),
});
export type SendResult = typeof sendResult.static;

export const idParams = t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) });
export const page = pageFields(200, 50);
export const messageQuery = t.Object({
  status: t.Optional(
    t.Union([t.Literal("queued"), t.Literal("sent"), t.Literal("failed"), t.Literal("cancelled")], { error: "status: must be queued, sent, failed or cancelled" }),
  ),
  recipientId: t.Optional(t.String()),
  ...page,
});
export type MessageQuery = typeof messageQuery.static;
export const listQuery = t.Object({ ...page });

export const ok = t.Object({ success: t.Literal(true) });

// The list answers: one page of the caller's rows and their total.
const pageInfo = { total: t.Number(), limit: t.Number(), offset: t.Number() };
export const contactList = t.Object({ success: t.Literal(true), contacts: t.Array(contact), ...pageInfo });
export type ContactList = typeof contactList.static;
export const templateList = t.Object({ success: t.Literal(true), templates: t.Array(template), ...pageInfo });
export type TemplateList = typeof templateList.static;
/** A listed message also names its recipient (the contact's name), so lists need no second lookup. */
export const listedMessage = t.Composite([message, t.Object({ recipientName: t.String() })]);
export const messageTransport = t.Union([t.Literal("webhook"), t.Literal("stream"), t.Literal("none")], {
  description: "MESSAGE_TRANSPORT of this deployment; none: messages stay queued until a transport is configured",
});
export const messageList = t.Object({ success: t.Literal(true), messages: t.Array(listedMessage), ...pageInfo, transport: messageTransport });
export type MessageList = typeof messageList.static;
export const messageAnswer = t.Object({ success: t.Literal(true), message: listedMessage });

export const messagingModels = {
  Contact: contact,
  ContactInput: contactInput,
  ContactPatch: contactPatch,
  Template: template,
  TemplateInput: templateInput,
  TemplatePatch: templatePatch,
  Message: message,
  SendTemplate: sendTemplateInput,
  SendBulk: sendBulkInput,
  SendPrivate: sendPrivateInput,
  SendResult: sendResult,
};
