// What every request goes through before its body is parsed or validated, in this order:
// the route's guard (credentials before bodies: validation rules never leak to anonymous
// callers, and clients that log in again on 401 do), the request gate (rate limits: a refused
// request is never read, never reaches a handler or an upstream), then the body's media type.
import { guardOnce } from "../kernel/guard";
import type { Authenticator } from "../kernel/authenticator";
import type { Principal, RequestIpSource } from "../kernel/principal";
import { AppError, HTTP_ERRORS } from "./errors";
import type { RouteTable } from "./route-table";

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
  const done = new WeakMap<Request, Promise<void>>();
  // The gate's 429 is counted in usage here, where the caller is known; the gate only decides.
  const countRefusal = (err: unknown, principal: Principal | undefined) => {
    if (err instanceof AppError && err.code === "RATE_LIMITED") authn.usage.add("rateLimited", principal?.user.id ?? "", principal?.keyId);
  };
  async function run(request: Request, route: string, headers: Record<string, string>): Promise<void> {
    const facts = table.get(request.method, route);
    const principal = facts?.guard ? await guardOnce(authn, request, facts.guard) : undefined;
    try {
      await authn.gate.admit({ request, route, principal, server, headers });
    } catch (err) {
      countRefusal(err, principal);
      throw err;
    }
    const kind = bodyKindOf(request);
    if (kind === "other" || (kind === "form" && !facts?.form)) throw unsupportedMediaType(Boolean(facts?.form));
  }
  /**
   * Idempotent per request: called from the parse hook (routes with bodies) and from transform
   * (all); `headers` is the response's (the gate adds its RateLimit fields to it).
   */
  return (request: Request, route: string, headers: Record<string, string>): Promise<void> => {
    let p = done.get(request);
    if (!p) {
      p = run(request, route, headers);
      done.set(request, p);
    }
    return p;
  };
}
