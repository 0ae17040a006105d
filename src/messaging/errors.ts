import { defineErrors } from "../http/errors";

/** The messaging feature's outcomes (its 401 wording is the family's, in HTTP_ERRORS). */
export const MESSAGING_ERRORS = defineErrors({
  CONTACT_NOT_FOUND: { status: "NOT_FOUND", message: (id: string) => `Contact not found: ${id}` },
  TEMPLATE_NOT_FOUND: { status: "NOT_FOUND", message: (id: string) => `Template not found: ${id}` },
  MESSAGE_NOT_FOUND: { status: "NOT_FOUND", message: (id: string) => `Message not found: ${id}` },
  NOT_RETRYABLE: {
    status: "CONFLICT",
    message: (status: string) => `Only a failed or cancelled message can be retried; this one is ${status}`,
  },
  NOT_CANCELLABLE: { status: "CONFLICT", message: (status: string) => `Only a queued message can be cancelled; this one is ${status}` },
  IN_DELIVERY: {
    status: "CONFLICT",
    message: "The message is being delivered right now and cannot be cancelled; try again when this attempt has ended",
  },
  MISSING_PLACEHOLDER: {
    status: "VALIDATION",
    message: (name: string, contactId: string) => `Missing placeholder: ${name} (recipient ${contactId})`,
  },
  EMPTY_TEXT: { status: "VALIDATION", message: "Message text is empty" },
  TEXT_TOO_LONG: {
    status: "VALIDATION",
    message: (max: number, contactId?: string) => `Message text exceeds ${max} characters${contactId ? ` (recipient ${contactId})` : ""}`,
  },
  TOO_MANY_RECIPIENTS: { status: "PAYLOAD_TOO_LARGE", message: (max: number) => `Too many recipients: at most ${max} per request` },
  EMPTY_PATCH: { status: "VALIDATION", message: "Nothing to update" },
  IDEMPOTENCY_CONFLICT: { status: "CONFLICT", message: "Idempotency-Key was already used with a different request" },
  IDEMPOTENCY_IN_PROGRESS: { status: "CONFLICT", message: "A request with this Idempotency-Key is still in progress" },
  BAD_IDEMPOTENCY_KEY: { status: "VALIDATION", message: "Idempotency-Key must be 1 to 255 printable characters" },
  STREAM_ID_RESERVED: {
    status: "FORBIDDEN",
    message: "streamUserId: this Stream user id belongs to another user (customer-<n> ids are their customers', chatgate is the sender)",
  },
  STREAM_ID_CLAIMED: { status: "FORBIDDEN", message: "streamUserId: this Stream user id is addressed by another owner's contact" },
  RECIPIENT_STREAM_ID: {
    status: "FORBIDDEN",
    message: (contactId: string) => `The Stream user id of recipient ${contactId} belongs to another user`,
  },
});
