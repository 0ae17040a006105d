import { defineErrors } from "../http/errors";

/** The webhooks API's outcomes (answered in the admin body). */
export const WEBHOOK_ERRORS = defineErrors({
  BAD_TARGET: { status: "VALIDATION", message: (why: string) => why },
  BAD_EVENTS: { status: "VALIDATION", message: (why: string) => why },
  NOT_FOUND: { status: "NOT_FOUND", message: "Webhook not found" },
});
