// What every request goes through before its body is parsed or validated, in this order:
// the route's guard (credentials before bodies: validation rules never leak to anonymous
// callers, and clients that log in again on 401 do), the request gate (rate limits: a refused
// request is never read, never reaches a handler or an upstream), then the body's media type.
import { guardOnce } from "../kernel/guard";
import type { Authenticator } from "../kernel/authenticator";
import { isThenable, then, type MaybePromise, type Principal, type RequestIpSource } from "../kernel/principal";
import { AppError, HTTP_ERRORS } from "./errors";
import type { RouteFacts, RouteTable } from "./route-table";

type BodyKind = "none" | "json" | "form" | "other";

/** The media type class of the request's body; a body without a type counts as `other`. */
function bodyKindOf(request: Request): BodyKind {
  if (request.method === "GET" || request.method === "HEAD") return "none";
  const headers = request.headers;
  if (Number(headers.get("content-length") ?? "0") === 0 && !headers.has("transfer-encoding")) return "none";
  const type = (headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "application/json") return "json";
  if (type === "application/x-www-form-urlencoded") return "form";
  return "other";
}

const unsupportedMediaType = (form: boolean) => (form ? HTTP_ERRORS.JSON_OR_FORM() : HTTP_ERRORS.JSON_ONLY());

export function createPreflight(authn: Authenticator, table: RouteTable, server: RequestIpSource) {
  const done = new WeakMap<Request, MaybePromise<void>>();
  // The gate's 429 is counted in usage here, where the caller is known; the gate only decides.
  const countRefusal = (err: unknown, principal: Principal | undefined) => {
    if (err instanceof AppError && err.code === "RATE_LIMITED") authn.usage.add("rateLimited", principal?.user.id ?? "", principal?.keyId);
  };
  // Synchronous (returns or throws) when the guard and the gate answer from their caches.
  function run(request: Request, route: string, headers: Record<string, string>): MaybePromise<void> {
    const facts = table.get(request.method, route);
    if (!facts?.guard) return afterGuard(request, route, headers, facts, undefined);
    return then(guardOnce(authn, request, facts.guard), (principal) => afterGuard(request, route, headers, facts, principal));
  }
  function afterGuard(request: Request, route: string, headers: Record<string, string>, facts: RouteFacts | undefined, principal: Principal | undefined): MaybePromise<void> {
    let admitted: void | Promise<void>;
    try {
      admitted = authn.gate.admit({ request, route, principal, server, headers });
    } catch (err) {
      countRefusal(err, principal);
      throw err;
    }
    if (isThenable(admitted)) {
      return Promise.resolve(admitted).then(
        () => checkMediaType(request, facts),
        (err) => {
          countRefusal(err, principal);
          throw err;
        },
      );
    }
    checkMediaType(request, facts);
  }
  /**
   * Idempotent per request: called from the parse hook (routes with bodies) and from transform
   * (all); `headers` is the response's (the gate adds its RateLimit fields to it). A failure is
   * kept as a rejected promise, so the second call throws the same error.
   */
  return (request: Request, route: string, headers: Record<string, string>): MaybePromise<void> => {
    if (done.has(request)) return done.get(request);
    let p: MaybePromise<void>;
    try {
      p = run(request, route, headers);
    } catch (err) {
      p = Promise.reject(err);
    }
    done.set(request, p);
    return p;
  };
}

function checkMediaType(request: Request, facts: RouteFacts | undefined): void {
  const kind = bodyKindOf(request);
  if (kind === "other" || (kind === "form" && !facts?.form)) throw unsupportedMediaType(Boolean(facts?.form));
}
