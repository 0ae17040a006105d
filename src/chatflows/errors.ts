import { defineErrors } from "../http/errors";

/** The chatflows feature's outcomes: admin CRUD, grants, the access policy and the Flowise sync. */
export const CHATFLOW_ERRORS = defineErrors({
  CHATFLOW_NOT_FOUND: { status: "NOT_FOUND", message: "Chatflow not found" },
  CHATFLOW_EXISTS: { status: "CONFLICT", message: "Chatflow already exists" },
  CHATFLOW_DISABLED: { status: "FORBIDDEN", message: "Chatflow is disabled" },
  NO_ACCESS: { status: "FORBIDDEN", message: "You do not have access to this chatflow" },
  USER_NOT_FOUND: { status: "NOT_FOUND", message: "User not found" },
  FLOWISE_UNCONFIGURED: { status: "UNAVAILABLE", message: "Flowise is not configured (FLOWISE_URL is unset)" },
  FLOWISE_TIMEOUT: { status: "UPSTREAM_TIMEOUT", message: "Flowise did not answer in time" },
  FLOWISE_UNREACHABLE: { status: "UNAVAILABLE", message: "Flowise is unreachable" },
  FLOWISE_KEY_REFUSED: { status: "UPSTREAM_ERROR", message: (httpStatus: number) => `Flowise refused chatgate's API key (HTTP ${httpStatus})` },
  FLOWISE_FAILED: { status: "UPSTREAM_ERROR", message: (httpStatus: number) => `Flowise answered HTTP ${httpStatus}` },
  FLOWISE_NOT_JSON: { status: "UPSTREAM_ERROR", message: "Flowise answered something other than JSON" },
  FLOWISE_BAD_LIST: { status: "UPSTREAM_ERROR", message: "Flowise answered an unexpected chatflow list" },
});
