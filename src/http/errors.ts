// One typed error, one code→status table, rendered once per route family in that family's
// documented body. Services throw AppError only for outcomes a route must turn into a status.

export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  PAYMENT_REQUIRED: 402,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  VALIDATION: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UPSTREAM_ERROR: 502,
  UNAVAILABLE: 503,
  UPSTREAM_TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "AppError";
  }
}

/** Messages the contracts fix word for word. */
export const MESSAGES = {
  invalidJwt: "Could not validate credentials",
  invalidApiKey: "Invalid or expired API key",
  forbidden: "You do not have sufficient permissions for this operation",
  streamUnauthorized: "Invalid or expired session token",
  messagingUnauthorized: "Unauthorized: Missing or invalid token",
} as const;

export type Family = "detail" | "admin" | "messaging" | "stream" | "brain" | "oauth";

/** Which documented error body a path answers with. */
export function familyOf(path: string): Family {
  if (path.startsWith("/stream-chat")) return "stream";
  if (path.startsWith("/oauth/")) return "oauth";
  if (path.startsWith("/api/admin")) return "admin";
  if (path.startsWith("/api/messages") || path.startsWith("/api/contacts") || path.startsWith("/api/templates")) {
    return "messaging";
  }
  if (path.startsWith("/chat") || path.startsWith("/api-key")) return "brain";
  return "detail";
}

const REASON: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export interface Rendered {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

/** `invalidAs400`: the route's own contract documents 400 for invalid parameters (revoke). */
export function statusOf(code: ErrorCode, family: Family, invalidAs400 = false): number {
  // The admin-token and Stream contracts document 400 for an invalid body; the FastAPI-style
  // families use 422 as their frameworks do.
  if (code === "VALIDATION" && (invalidAs400 || family === "admin" || family === "stream" || family === "oauth")) return 400;
  return ERROR_STATUS[code];
}

export function render(err: AppError, family: Family, requestId: string, invalidAs400 = false): Rendered {
  const status = statusOf(err.code, family, invalidAs400);
  const headers: Record<string, string> = { ...err.headers };
  let message = err.message;
  if (status === 500) message = "Internal server error";
  const extra = status >= 500 ? { request_id: requestId } : {};
  switch (family) {
    case "stream":
      if (status === 401) message = MESSAGES.streamUnauthorized;
      return { status, headers, body: { error: REASON[status] ?? "Error", message, ...extra } };
    case "admin":
      return { status, headers, body: { message, status, ...extra } };
    case "oauth": {
      // RFC 6749 section 5.2 error bodies (introspection RFC 7662, revocation RFC 7009).
      if (status === 401) headers["WWW-Authenticate"] = 'Bearer error="invalid_client"';
      const error = status === 401 ? "invalid_client" : status >= 500 ? "server_error" : "invalid_request";
      return { status, headers, body: { error, error_description: message, ...extra } };
    }
    case "messaging":
      if (status === 401) message = MESSAGES.messagingUnauthorized;
      return { status, headers, body: { success: false, error: message, ...extra } };
    default:
      if (status === 401) headers["WWW-Authenticate"] = "Bearer";
      return { status, headers, body: { detail: message, ...extra } };
  }
}
