// The error responses every operation documents, derived from what the operation is (secured,
// takes input, has path parameters) plus a short list of outcomes particular to some routes.
// Bodies and examples come from the same renderer the server answers with, so they cannot drift.
import { AppError, ERROR_STATUS, HTTP_ERRORS, render, statusOf, type ErrorCode, type Family } from "../http/errors";

type Json = Record<string, any>;

const requestId = { type: "string", description: "Present on 5xx answers: quote it when reporting the fault" };

/** One body schema per route family (the brain family renders the `detail` body). */
export const ERROR_SCHEMAS: Record<string, Json> = {
  DetailError: {
    type: "object",
    description: "Error body of /api/v1/chat, /api/auth, /api-key*, /chat*",
    required: ["detail"],
    properties: { detail: { type: "string" }, request_id: requestId },
  },
  AdminError: {
    type: "object",
    description: "Error body of /api/admin",
    required: ["message", "status"],
    properties: { message: { type: "string" }, status: { type: "integer" }, request_id: requestId },
  },
  MessagingError: {
    type: "object",
    description: "Error body of /api/messages, /api/contacts, /api/templates",
    required: ["success", "error"],
    properties: { success: { type: "boolean", const: false }, error: { type: "string" }, request_id: requestId },
  },
  OAuthError: {
    type: "object",
    description: "Error body of /oauth (RFC 6749 section 5.2)",
    required: ["error"],
    properties: { error: { type: "string", enum: ["invalid_request", "invalid_client", "server_error"] }, error_description: { type: "string" }, request_id: requestId },
  },
  StreamError: {
    type: "object",
    description: "Error body of /stream-chat",
    required: ["error", "message"],
    properties: { error: { type: "string" }, message: { type: "string" }, request_id: requestId },
  },
};

const SCHEMA_OF: Record<Family, string> = {
  detail: "DetailError",
  brain: "DetailError",
  admin: "AdminError",
  messaging: "MessagingError",
  stream: "StreamError",
  oauth: "OAuthError",
};

const WHY: Partial<Record<ErrorCode, string>> = {
  BAD_REQUEST: "Malformed or inconsistent request",
  UNAUTHENTICATED: "Missing, invalid, expired or revoked credentials",
  PAYMENT_REQUIRED: "Not enough credits",
  FORBIDDEN: "Authenticated but not allowed (role, key level, domain, ownership)",
  NOT_FOUND: "No such resource (or not yours)",
  CONFLICT: "Conflicts with the current state, or an Idempotency-Key reused with another body",
  PAYLOAD_TOO_LARGE: "Body (or recipient list) over the limit",
  UNSUPPORTED_MEDIA_TYPE: "Content-Type not accepted",
  VALIDATION: "A field, parameter or body failed validation (named in the message; the value is never echoed)",
  RATE_LIMITED: "Too many attempts; see Retry-After",
  INTERNAL: "Unexpected fault; the body carries a request_id",
  UPSTREAM_ERROR: "The upstream service failed",
  UNAVAILABLE: "A dependency (database or upstream) is not reachable; see Retry-After",
  UPSTREAM_TIMEOUT: "The upstream service did not answer in time",
};

const EXAMPLE_MESSAGE: Partial<Record<ErrorCode, string>> = {
  BAD_REQUEST: "Malformed request body",
  FORBIDDEN: HTTP_ERRORS.FORBIDDEN.message,
  NOT_FOUND: "Not Found",
  VALIDATION: "body.email: Expected string",
  RATE_LIMITED: "Too many attempts, try again later",
  UNAVAILABLE: "Service temporarily unavailable: database not reachable",
};

// Outcomes particular to some operations, on top of the ones derived from their shape.
const EXTRA: [RegExp, ErrorCode[]][] = [
  [/^POST \/api\/v1\/chat\/authenticate$|^POST \/api\/auth\/token$/, ["UNAUTHENTICATED", "RATE_LIMITED"]],
  [/^POST \/api\/v1\/chat\/refresh$/, ["UNAUTHENTICATED"]],
  [/^POST \/oauth\//, ["UNAUTHENTICATED"]],
  [/^POST \/api\/v1\/chat\/predict$|^POST \/chat\/\{chat_id\}\/question\/stream$/, ["PAYMENT_REQUIRED", "NOT_FOUND", "CONFLICT", "UPSTREAM_ERROR", "UPSTREAM_TIMEOUT"]],
  [/^POST \/api\/admin\/chatflows\/sync$/, ["UPSTREAM_ERROR", "UPSTREAM_TIMEOUT"]],
  [/^(POST|PATCH) \/api\/auth\/users/, ["CONFLICT"]],
  [/^POST \/api\/messages\/send-/, ["NOT_FOUND", "CONFLICT", "PAYLOAD_TOO_LARGE"]],
  [/^POST \/stream-chat\/token$/, ["RATE_LIMITED"]],
  [/^POST \/api\/admin\/chatflows$/, ["CONFLICT"]],
];

const UNTOUCHED_BY_DATABASE = new Set(["/healthz", "/readyz", "/metrics"]);

export interface OperationShape {
  method: string;
  path: string;
  secured: boolean;
  hasBody: boolean;
  hasParams: boolean;
  hasPathParams: boolean;
  /** The error family the route's group declared. */
  family: Family;
}

/** The error codes an operation can answer with. */
export function errorCodesOf(op: OperationShape): ErrorCode[] {
  const codes = new Set<ErrorCode>();
  if (op.secured) codes.add("UNAUTHENTICATED").add("FORBIDDEN");
  if (op.hasBody || op.hasParams) codes.add("VALIDATION");
  if (op.hasBody) codes.add("BAD_REQUEST").add("PAYLOAD_TOO_LARGE").add("UNSUPPORTED_MEDIA_TYPE");
  if (op.hasPathParams) codes.add("NOT_FOUND");
  const key = `${op.method.toUpperCase()} ${op.path}`;
  for (const [re, extra] of EXTRA) if (re.test(key)) for (const c of extra) codes.add(c);
  codes.add("INTERNAL");
  if (!UNTOUCHED_BY_DATABASE.has(op.path)) codes.add("UNAVAILABLE");
  return [...codes];
}

/** Response objects by status for an operation's error codes, in its family's body. */
export function errorResponses(op: OperationShape): Record<string, Json> {
  const family = op.family;
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorCodesOf(op)) {
    const status = statusOf(code, family);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, Json> = {};
  for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const examples: Record<string, Json> = {};
    let headers: Record<string, string> = {};
    for (const code of codes) {
      const message = code === "UNAUTHENTICATED" ? HTTP_ERRORS.INVALID_JWT.message : (EXAMPLE_MESSAGE[code] ?? WHY[code] ?? code);
      const r = render(new AppError(code, message), family, "3f2c9a1e-0d4b-4c8e-9a57-1b2f6c3d4e5f");
      examples[code.toLowerCase()] = { summary: WHY[code] ?? code, value: r.body };
      headers = { ...headers, ...r.headers };
    }
    if (status === ERROR_STATUS.RATE_LIMITED || status === ERROR_STATUS.UNAVAILABLE) headers["Retry-After"] = "5";
    out[String(status)] = {
      description: codes.map((c) => WHY[c] ?? c).join("; "),
      ...(Object.keys(headers).length ? { headers: headerObjects(headers) } : {}),
      content: { "application/json": { schema: { $ref: `#/components/schemas/${SCHEMA_OF[family]}` }, examples } },
    };
  }
  return out;
}

const HEADER_DOC: Record<string, string> = {
  "WWW-Authenticate": "Always `Bearer` on 401",
  "Retry-After": "Seconds to wait before trying again",
};

function headerObjects(headers: Record<string, string>): Json {
  return Object.fromEntries(Object.keys(headers).map((h) => [h, { description: HEADER_DOC[h] ?? h, schema: { type: "string" } }]));
}
