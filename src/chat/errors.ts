import { defineErrors } from "../http/errors";

/** The chat feature's outcomes: predictions, sessions, stream slots and the Flowise call. */
export const CHAT_ERRORS = defineErrors({
  INSUFFICIENT_CREDITS: { status: "PAYMENT_REQUIRED", message: "Insufficient credits" },
  SESSION_NOT_FOUND: { status: "NOT_FOUND", message: "Session not found" },
  BLANK_QUESTION: { status: "VALIDATION", message: "question: must not be blank" },
  OVERRIDE_REFUSED: { status: "VALIDATION", message: (keys: string) => `overrideConfig: key(s) not allowed: ${keys}` },
  BAD_IDEMPOTENCY_KEY: { status: "VALIDATION", message: "Idempotency-Key: must be 1 to 255 visible ASCII characters" },
  IDEMPOTENCY_CONFLICT: { status: "CONFLICT", message: "Idempotency-Key was already used with a different request body" },
  IDEMPOTENCY_IN_PROGRESS: { status: "CONFLICT", message: "A request with this Idempotency-Key is still in progress" },
  TOO_MANY_STREAMS: { status: "RATE_LIMITED", message: (max: number) => `Too many open streams: at most ${max} per user at a time` },
  CLIENT_GONE: { status: "BAD_REQUEST", message: "Client closed the request" },
  FLOWISE_UNCONFIGURED: { status: "UNAVAILABLE", message: "Flowise is not configured (FLOWISE_URL is unset)" },
  FLOWISE_UNREACHABLE: { status: "UNAVAILABLE", message: "Flowise is unreachable" },
  FLOWISE_TIMEOUT: { status: "UPSTREAM_TIMEOUT", message: "Flowise did not answer in time" },
  FLOWISE_KEY_REFUSED: { status: "UPSTREAM_ERROR", message: (httpStatus: number) => `Flowise refused chatgate's API key (HTTP ${httpStatus})` },
  FLOWISE_BUSY: { status: "UNAVAILABLE", message: "Flowise is rate limiting requests; retry later" },
  FLOWISE_FAILED: { status: "UPSTREAM_ERROR", message: (httpStatus: number) => `Flowise answered HTTP ${httpStatus}` },
  FLOWISE_GARBAGE: { status: "UPSTREAM_ERROR", message: "Flowise answered something other than JSON or an event stream" },
  FLOWISE_BAD_JSON: { status: "UPSTREAM_ERROR", message: "Flowise answered invalid JSON" },
  FLOWISE_LOST: { status: "UPSTREAM_ERROR", message: "The connection to Flowise was lost" },
  /** Only ever an SSE error frame: the stream had started when the process began to stop. */
  RESTARTING: { status: "UNAVAILABLE", message: "chatgate is restarting; retry the question" },
});
