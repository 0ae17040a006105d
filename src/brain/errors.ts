import { defineErrors } from "../http/errors";

/** The brain API's outcomes; POST /api-key/chat-token answers the same two words for a brain. */
export const BRAIN_ERRORS = defineErrors({
  BRAIN_NOT_FOUND: { status: "NOT_FOUND", message: "Brain not found" },
  NO_BRAIN_ACCESS: { status: "FORBIDDEN", message: "You do not have access to this brain" },
  OTHER_BRAIN: { status: "FORBIDDEN", message: "This chat token was issued for another brain" },
  BRAIN_REQUIRED: { status: "VALIDATION", message: "brain_id: required (query parameter)" },
  BLANK_QUESTION: { status: "VALIDATION", message: "question: must not be blank" },
});
