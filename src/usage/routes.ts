import { Elysia } from "elysia";
import { errorFamily } from "../http/errors";
import type { Core } from "../kernel/core";
import type { Principal } from "../kernel/principal";
import { MAX_POINTS, usageModels, usageQuery, usageSeries, type UsageQuery } from "./model";
import { queryUsage, rangeOf, type UsageFlusher, type UsageScope } from "./service";

const DESCRIPTION =
  "Sums of the usage rollups per bucket (UTC hours or days), split by group_by. Defaults: group_by=none, granularity=hour, " +
  "until=now, since=until-24h (hour) or until-30d (day); since is rounded down to its bucket's start, until is exclusive; " +
  "a range may span 31 days (hour) or 366 days (day). This instance's counts are written before the answer; other " +
  "instances' lag by up to USAGE_FLUSH_MS. Buckets without usage are left out. An answer holds at most " +
  `${MAX_POINTS} points (buckets × ids): more is refused (400); narrow the range, use granularity=day or pick one id.`;

/** Writes this instance's counts first, so a caller sees what it just did. */
async function answer(ctx: Core, flusher: UsageFlusher, scope: UsageScope, query: UsageQuery) {
  const range = rangeOf(query);
  await flusher.flushQuietly();
  return queryUsage(ctx.db, scope, range);
}

const ownScope = (p: Principal): UsageScope => (p.kind === "apiKey" ? { kind: "key", keyId: p.tokenId } : { kind: "user", userId: p.user.id });

/** GET /api/admin/usage (everyone's) and GET /api/auth/usage (the caller's own). */
export function usageRoutes(ctx: Core, flusher: UsageFlusher) {
  const admin = new Elysia({ prefix: "/api/admin", tags: ["usage"] })
    .onTransform(errorFamily("admin"))
    .use(ctx.auth)
    .model(usageModels)
    .get("/usage", ({ query }) => answer(ctx, flusher, { kind: "all" }, query), {
      admin: true,
      query: usageQuery,
      response: usageSeries,
      detail: { summary: "Usage over time: requests, predictions, credits, tokens, rate limits, logins, errors (admin)", description: DESCRIPTION },
    });
  const own = new Elysia({ prefix: "/api/auth", tags: ["usage"] })
    .onTransform(errorFamily("detail"))
    .use(ctx.auth)
    .model(usageModels)
    .get("/usage", ({ query, principal }) => answer(ctx, flusher, ownScope(principal), query), {
      auth: { accept: ["access", "apiKey"], level: "read" },
      invalidAs400: true,
      query: usageQuery,
      response: usageSeries,
      detail: {
        summary: "The caller's own usage over time: a user's (access token), or one API key's (X-API-Key)",
        description: `${DESCRIPTION} Invalid parameters answer 400.`,
      },
    });
  return new Elysia().use(admin).use(own);
}
