import type { Core } from "../kernel/core";
import { HEALTH_ERRORS } from "./errors";
import { safeEqual, sha256Hex } from "../ids";

/**
 * With METRICS_TOKEN set, /metrics needs `Authorization: Bearer <METRICS_TOKEN>` (what a
 * Prometheus scrape job sends) or an admin's access token (what the console sends). Digests are
 * compared, so the comparison takes the same time whatever the length of the guess.
 */
export function metricsGuard(ctx: Core): (request: Request) => Promise<void> {
  const token = ctx.config.metricsToken;
  if (token === undefined) return async () => {};
  const expected = sha256Hex(token);
  return async (request) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "");
    if (m && safeEqual(sha256Hex(m[1]!), expected)) return;
    if (m) {
      const r = await ctx.authn.authenticate(request, ["access"]);
      if (r.ok && r.principal.user.role === "admin") return;
    }
    throw HEALTH_ERRORS.METRICS_UNAUTHORIZED();
  };
}
