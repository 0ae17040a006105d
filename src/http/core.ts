import { Elysia, ValidationError } from "elysia";
import type { Config } from "../config";
import { type Authenticator, rejectionOf } from "../kernel/authenticator";
import { principalOf } from "../kernel/guard";
import { AppError, HTTP_ERRORS, render } from "./errors";
import { unknownFieldIn } from "./closed-objects";
import { dropNullOptionals } from "./lenient-nulls";
import { errorSummary, type Logger } from "./logger";
import type { Metrics } from "./metrics";
import { createPreflight } from "./preflight";
import type { RouteTable } from "./route-table";
import type { RequestIpSource } from "../kernel/principal";
import { endServerSpan, startServerSpan } from "../ops/tracing";
import type { Span } from "@opentelemetry/api";

interface RequestInfo {
  id: string;
  start: number;
  /** The client went away before its answer: no status was ever sent to it. */
  clientClosed?: boolean;
  /** The request's server span, when tracing is on. */
  span?: Span;
}

const info = new WeakMap<Request, RequestInfo>();
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(request: Request): string {
  return info.get(request)?.id ?? "unknown";
}

function validationMessage(err: ValidationError): string {
  if (typeof err.customError === "string") return err.customError;
  const first = err.valueError;
  if (!first) return `Invalid ${err.type}`;
  const where = first.path ? `${err.type}${first.path.replaceAll("/", ".")}` : err.type;
  // The schema's message only: the rejected value may be a password and is never echoed.
  return `${where}: ${first.message}`;
}

// Driver errors that mean "the database is not reachable right now", not "this request is bad".
const DB_UNAVAILABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01", // admin_shutdown
  "57P03", // cannot_connect_now
  "57014", // statement timeout
  "53300", // too_many_connections
  "08P01", // PgBouncer: query_wait_timeout, no more connections allowed
  "TRANSACTION_NOT_COMMITTED", // a COMMIT answered ROLLBACK (src/db/client.ts): nothing was written
]);

function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === "string" && DB_UNAVAILABLE.has(e.code)) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/**
 * A NUL anywhere in the decoded input: Postgres text cannot hold one, so it is refused up front
 * rather than failing as a 500 in some query. The one exception is the real password field — a
 * top-level string `password` (login, user create and update bodies): it is only ever hashed, and
 * its own rule (no control characters) answers with its own message. A `password` key anywhere
 * else (contact attributes, template placeholders) is ordinary data and is checked.
 */
function containsNul(body: unknown): boolean {
  return someString(body, (v) => v.includes("\u0000"), true);
}

// In a `u` regex a pair is one code point, so \p{Cs} matches only an unpaired half.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * A lone UTF-16 surrogate (`"\ud800"` in JSON): no UTF-8 text holds one, so Postgres refuses it in
 * jsonb (an audit row's changes: a 500) and text columns would store U+FFFD instead of what was
 * sent. Checked everywhere, the password too (it could only ever be hashed as something else).
 */
function containsLoneSurrogate(body: unknown): boolean {
  return someString(body, (v) => LONE_SURROGATE.test(v), false);
}

/** Whether a string or key anywhere in the body matches; `skipPassword`: not the top-level `password` string. */
function someString(body: unknown, bad: (s: string) => boolean, skipPassword: boolean): boolean {
  const stack: unknown[] = [];
  if (body && typeof body === "object" && !Array.isArray(body)) {
    for (const [k, x] of Object.entries(body)) {
      if (bad(k)) return true;
      if (!(skipPassword && k === "password" && typeof x === "string")) stack.push(x);
    }
  } else stack.push(body);
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (bad(v)) return true;
    } else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (bad(k)) return true;
        stack.push(x);
      }
    }
  }
  return false;
}

/** The body of a request whose preflight failed: never read, never validated. */
const UNREAD = Object.freeze({});

/** Turns anything thrown into an AppError (unknown faults become INTERNAL). */
export function toAppError(code: unknown, error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isDatabaseUnavailable(error)) {
    return HTTP_ERRORS.DATABASE_UNAVAILABLE.withHeaders({ "Retry-After": "5" });
  }
  if (error instanceof ValidationError) return HTTP_ERRORS.INVALID_INPUT(validationMessage(error));
  if (code === "NOT_FOUND") return HTTP_ERRORS.NOT_FOUND();
  if (code === "PARSE") return HTTP_ERRORS.MALFORMED_BODY();
  return HTTP_ERRORS.INTERNAL();
}

function corsHeaders(origin: string | null, allowed: string[]): Record<string, string> {
  // Only exact listed origins are echoed; no credentials header, since auth is by bearer token.
  if (!origin || allowed.length === 0 || !allowed.includes(origin)) return {};
  // Browsers hide response headers from scripts unless exposed: clients act on the rate limit fields.
  return { "Access-Control-Allow-Origin": origin, Vary: "Origin", "Access-Control-Expose-Headers": "RateLimit, RateLimit-Policy, Retry-After" };
}

// Stable label objects per (route, method, status): the metrics registry caches rendered keys
// by object identity, so counting a request does no string building. Nested by route, method
// and status, so finding them builds no key either.
type LabelSet = { request: Record<string, string>; latency: Record<string, string> };
const labelSets = new Map<string, Map<string, Map<number, LabelSet>>>();
let labelSetCount = 0;

function requestLabels(route: string, method: string, status: number): LabelSet {
  let byMethod = labelSets.get(route);
  let byStatus = byMethod?.get(method);
  let l = byStatus?.get(status);
  if (!l) {
    l = { request: { route, method, status: String(status) }, latency: { route } };
    if (labelSetCount < 10_000) {
      if (!byMethod) labelSets.set(route, (byMethod = new Map()));
      if (!byStatus) byMethod.set(method, (byStatus = new Map()));
      byStatus.set(status, l);
      labelSetCount++;
    }
  }
  return l;
}

/** A 4xx or 5xx answer in usage, for its caller when the guard let one in (off the hot path: errors only). */
async function countError(authn: Authenticator, request: Request, status: number): Promise<void> {
  const p = await principalOf(request);
  const userId = p?.user.id ?? "";
  authn.usage.add("errors", userId, p?.keyId);
  if (status >= 500) authn.usage.add("serverErrors", userId, p?.keyId);
}

/**
 * Request ids, access log, metrics, size and media-type limits, CORS, the route's guard before
 * any body is read, null-as-absent, 405s and the one error mapping. `table` knows the routes.
 */
export function corePlugin(deps: { config: Config; log: Logger; metrics: Metrics; authn: Authenticator }, table: RouteTable) {
  const { config, log, metrics } = deps;
  const cors = config.corsOrigins.length > 0;
  // The caller's address, for a gate that needs one (anonymous requests under an address limit),
  // read through the app only then: a hook that names `server` in its context makes Elysia
  // define a getter on every request's context, on every route.
  const server: RequestIpSource = { requestIP: (request) => table.server?.requestIP(request) ?? null };
  const preflight = createPreflight(deps.authn, table, server);
  // Only HTTPS responses: HSTS over plain HTTP is ignored by browsers and misleads (src/ops/tls.ts).
  const hsts = config.tlsCertFile && config.hstsMaxAge > 0 ? `max-age=${config.hstsMaxAge}` : undefined;
  return (
    new Elysia({ name: "core" })
      .onRequest(({ request, set }) => {
        const headers = request.headers;
        const incoming = headers.get("x-request-id");
        const id = incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
        info.set(request, { id, start: performance.now(), span: startServerSpan(request) });
        set.headers["x-request-id"] = id;
        if (hsts) set.headers["strict-transport-security"] = hsts;
        if (cors) {
          const allow = corsHeaders(headers.get("origin"), config.corsOrigins);
          if (request.method === "OPTIONS" && headers.get("access-control-request-method")) {
            if (allow["Access-Control-Allow-Origin"]) {
              allow["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
              allow["Access-Control-Allow-Headers"] = "Authorization, Content-Type, X-API-Key, Idempotency-Key, X-Request-Id";
              allow["Access-Control-Max-Age"] = "600";
            }
            return new Response(null, { status: 204, headers: { ...allow, "x-request-id": id, ...(hsts ? { "strict-transport-security": hsts } : {}) } });
          }
          Object.assign(set.headers, allow);
        }
        if (request.method === "GET" || request.method === "HEAD") return;
        const length = Number(headers.get("content-length") ?? "0");
        // The size limit comes before the guard: it protects the server, not a route's rules.
        if (length > config.maxBodyBytes) {
          throw HTTP_ERRORS.BODY_TOO_LARGE(config.maxBodyBytes);
        }
      })
      // Parse hooks run before the body is read (routes with a body); transform before validation
      // (every route). Both run the same once-per-request preflight: guard, then media type.
      .onParse({ as: "global" }, async ({ request, route, set }) => {
        // Elysia would wrap an error thrown here as "malformed body"; instead the body is left
        // unread and the transform hook below throws the same failure as it is.
        try {
          await preflight(request, route, set.headers as Record<string, string>);
        } catch {
          return UNREAD;
        }
      })
      .onTransform({ as: "global" }, async (c) => {
        await preflight(c.request, c.route, c.set.headers as Record<string, string>);
        // A NUL can reach the path or query only percent-encoded; checking the raw URL spares every
        // route from parsing its query string just to look (Postgres text cannot hold NUL). Here,
        // after the credential (a caller without one learns nothing from the query) and with the
        // route known, so the answer is the route's validation status.
        if (c.request.url.includes("%00")) throw HTTP_ERRORS.NUL_CHARACTER();
        if (c.body === undefined) return;
        if (containsNul(c.body)) throw HTTP_ERRORS.NUL_CHARACTER();
        if (containsLoneSurrogate(c.body)) throw HTTP_ERRORS.UNPAIRED_SURROGATE();
        const schema = table.get(c.request.method, c.route)?.body;
        if (!schema) return;
        const unknown = unknownFieldIn(schema, c.body);
        if (unknown) throw HTTP_ERRORS.UNKNOWN_FIELD(unknown.at, unknown.fields);
        c.body = dropNullOptionals(schema, c.body);
      })
      .onError({ as: "global" }, ({ code, error, request, path, set, route }) => {
        let appError = toAppError(code, error);
        if (code === "NOT_FOUND" && !(error instanceof AppError)) {
          const allow = table.allowed(path);
          if (allow && !allow.includes(request.method)) {
            appError = HTTP_ERRORS.METHOD_NOT_ALLOWED.withHeaders({ Allow: allow.join(", ") }, request.method);
          }
        }
        const id = requestIdOf(request);
        const started = info.get(request);
        if (started && request.signal.aborted) started.clientClosed = true;
        if (appError.code === "INTERNAL") {
          const e = error as Error;
          log.error("unhandled error", { request_id: id, route: path, error: errorSummary(e) });
        }
        const facts = route ? table.get(request.method, route) : undefined;
        // The family its route group declared; a request no route answered borrows its neighbours'.
        const out = render(appError, facts?.family ?? table.familyFor(path), id, facts?.invalidAs400);
        set.status = out.status;
        return new Response(JSON.stringify(out.body), {
          status: out.status,
          headers: { ...(set.headers as Record<string, string>), ...out.headers, "content-type": "application/json" },
        });
      })
      .onAfterResponse({ as: "global" }, ({ request, set, route }) => {
        const started = info.get(request);
        const seconds = started ? (performance.now() - started.start) / 1000 : 0;
        // 499 (nginx's "client closed request"): the error a gone client caused was never sent to it.
        const status = started?.clientClosed ? 499 : typeof set.status === "number" ? set.status : 200;
        // Never the raw path: unmatched requests (404, 405, early 413) must not add label sets.
        const label = route || "unmatched";
        const labels = requestLabels(label, request.method, status);
        endServerSpan(started?.span, request.method, label, status);
        metrics.requests.inc(labels.request);
        metrics.latency.observe(labels.latency, seconds);
        // 499: the client left; its request is not an error of chatgate's.
        if (status >= 400 && status !== 499) void countError(deps.authn, request, status);
        if (!log.enabled("info")) return;
        log.info("request", {
          request_id: started?.id,
          method: request.method,
          route: label,
          status,
          duration_ms: Math.round(seconds * 10000) / 10,
          ...(started?.clientClosed ? { client_closed: true } : {}),
          ...(rejectionOf(request) ? { auth_rejected: rejectionOf(request) } : {}),
        });
      })
  );
}
