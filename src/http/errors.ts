// One typed error, one code→status table, rendered once per route family in that family's
// documented body. Services throw AppError only for outcomes a route must turn into a status,
// always from a catalog (`defineErrors`): each feature keeps its own in `src/<feature>/errors.ts`.

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

type Message = string | ((...args: never[]) => string);
type ArgsOf<M> = M extends (...args: infer A) => string ? A : [];

/** One catalog entry as written: the outcome's status code and its message (or message builder). */
export interface ErrorSpec {
  readonly status: ErrorCode;
  readonly message: Message;
}

/**
 * A catalog entry: calling it makes the AppError to throw (`throw KEY_ERRORS.LEVEL_TOO_HIGH()`;
 * dynamic messages take their arguments). `message` is what tests compare bodies with.
 */
export type ErrorEntry<M extends Message = Message> = {
  (...args: ArgsOf<M>): AppError;
  /** The entry's name in its catalog, e.g. `LEVEL_TOO_HIGH`. */
  readonly code: string;
  readonly status: ErrorCode;
  readonly message: M;
  /** The same error with response headers (Retry-After). */
  withHeaders(headers: Record<string, string>, ...args: ArgsOf<M>): AppError;
};

export type ErrorCatalog<T extends Record<string, ErrorSpec> = Record<string, ErrorSpec>> = {
  readonly [K in keyof T]: ErrorEntry<T[K]["message"]>;
};

/** Every feature's catalog has this one shape: code → status → message. */
export function defineErrors<T extends Record<string, ErrorSpec>>(specs: T): ErrorCatalog<T> {
  const out: Record<string, unknown> = {};
  for (const [code, spec] of Object.entries(specs)) {
    const text = (args: unknown[]) => (typeof spec.message === "function" ? (spec.message as (...a: unknown[]) => string)(...args) : spec.message);
    const entry = (...args: unknown[]) => new AppError(spec.status, text(args));
    out[code] = Object.assign(entry, {
      code,
      status: spec.status,
      message: spec.message,
      withHeaders: (headers: Record<string, string>, ...args: unknown[]) => new AppError(spec.status, text(args), headers),
    });
  }
  return Object.freeze(out) as ErrorCatalog<T>;
}

/** The kernel's own outcomes; the first five are messages the contracts fix word for word. */
export const HTTP_ERRORS = defineErrors({
  INVALID_JWT: { status: "UNAUTHENTICATED", message: "Could not validate credentials" },
  INVALID_API_KEY: { status: "UNAUTHENTICATED", message: "Invalid or expired API key" },
  FORBIDDEN: { status: "FORBIDDEN", message: "You do not have sufficient permissions for this operation" },
  /** Every 401 of the stream family says this, whatever the cause. */
  STREAM_UNAUTHORIZED: { status: "UNAUTHENTICATED", message: "Invalid or expired session token" },
  /** Every 401 of the messaging family says this, whatever the cause. */
  MESSAGING_UNAUTHORIZED: { status: "UNAUTHENTICATED", message: "Unauthorized: Missing or invalid token" },
  NOT_FOUND: { status: "NOT_FOUND", message: "Not Found" },
  METHOD_NOT_ALLOWED: { status: "METHOD_NOT_ALLOWED", message: (method: string) => `Method ${method} not allowed` },
  MALFORMED_BODY: { status: "BAD_REQUEST", message: "Malformed request body" },
  INVALID_INPUT: { status: "VALIDATION", message: (why: string) => why },
  NUL_CHARACTER: { status: "VALIDATION", message: "Request must not contain NUL characters" },
  UNPAIRED_SURROGATE: { status: "VALIDATION", message: "Request must not contain unpaired UTF-16 surrogates (\\ud800 to \\udfff escapes without their pair)" },
  UNKNOWN_FIELD: { status: "VALIDATION", message: (at: string, fields: string[]) => `${at}: has a field it does not take (its fields: ${fields.join(", ")})` },
  BODY_TOO_LARGE: { status: "PAYLOAD_TOO_LARGE", message: (max: number) => `Request body exceeds ${max} bytes` },
  JSON_ONLY: { status: "UNSUPPORTED_MEDIA_TYPE", message: "Content-Type must be application/json" },
  JSON_OR_FORM: { status: "UNSUPPORTED_MEDIA_TYPE", message: "Content-Type must be application/json or application/x-www-form-urlencoded" },
  OFFSET_AND_AFTER: { status: "VALIDATION", message: "offset: give either offset or after, not both" },
  BAD_CURSOR: { status: "VALIDATION", message: "after: must be a cursor from a previous page" },
  DATABASE_UNAVAILABLE: { status: "UNAVAILABLE", message: "Service temporarily unavailable: database not reachable" },
  INTERNAL: { status: "INTERNAL", message: "Internal server error" },
});

export const FAMILIES = ["detail", "admin", "messaging", "stream", "brain", "oauth"] as const;
export type Family = (typeof FAMILIES)[number];

/** Tags the hook that declares a route group's error family (read by src/http/route-table.ts). */
export const FAMILY = Symbol("chatgate.errorFamily");

/**
 * Declares which documented error body the routes after it answer with, as the first hook of a
 * route group: `new Elysia({ prefix, tags }).onTransform(errorFamily("stream"))`. The hook does
 * nothing at run time; the route table reads its tag.
 */
export const errorFamily = (family: Family) => Object.assign(() => {}, { [FAMILY]: family });

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
  if (status === 500) message = HTTP_ERRORS.INTERNAL.message;
  const extra = status >= 500 ? { request_id: requestId } : {};
  switch (family) {
    case "stream":
      if (status === 401) message = HTTP_ERRORS.STREAM_UNAUTHORIZED.message;
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
      if (status === 401) message = HTTP_ERRORS.MESSAGING_UNAUTHORIZED.message;
      return { status, headers, body: { success: false, error: message, ...extra } };
    default:
      if (status === 401) headers["WWW-Authenticate"] = "Bearer";
      return { status, headers, body: { detail: message, ...extra } };
  }
}
