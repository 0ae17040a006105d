import { AppError } from "../http/errors";

/** The messaging feature's error messages, in one place. */
export const messagingErrors = {
  contactNotFound: (id: string) => new AppError("NOT_FOUND", `Contact not found: ${id}`),
  templateNotFound: (id: string) => new AppError("NOT_FOUND", `Template not found: ${id}`),
  messageNotFound: (id: string) => new AppError("NOT_FOUND", `Message not found: ${id}`),
  missingPlaceholder: (name: string, contactId: string) =>
    new AppError("VALIDATION", `Missing placeholder: ${name} (recipient ${contactId})`),
  emptyText: () => new AppError("VALIDATION", "Message text is empty"),
  textTooLong: (max: number, contactId?: string) =>
    new AppError("VALIDATION", `Message text exceeds ${max} characters${contactId ? ` (recipient ${contactId})` : ""}`),
  tooManyRecipients: (max: number) => new AppError("PAYLOAD_TOO_LARGE", `Too many recipients: at most ${max} per request`),
  emptyPatch: () => new AppError("VALIDATION", "Nothing to update"),
  idempotencyConflict: () => new AppError("CONFLICT", "Idempotency-Key was already used with a different request"),
  idempotencyInProgress: () => new AppError("CONFLICT", "A request with this Idempotency-Key is still in progress"),
  badIdempotencyKey: () => new AppError("VALIDATION", "Idempotency-Key must be 1 to 255 printable characters"),
};
