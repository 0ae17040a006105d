import { Elysia } from "elysia";
import type { Core } from "../kernel/core";
import { defineFeature } from "../kernel/feature";
import { authRoutes } from "./auth-routes";
import { chatAuthRoutes } from "./chat-auth-routes";
import type { IdentityContext } from "./context";
import type { EventHooks } from "../kernel/events";
import { identityModels } from "./model";
import { UserCache } from "./user-cache";
import { errorSummary } from "../http/logger";
import { and, like, lt, notLike, sql } from "drizzle-orm";
import { loginFailures, refreshTokens } from "./schema";
import { dummyPasswordHash } from "./passwords";
import { KNOWN_ADDRESS_DAYS } from "./throttle";
import type { Recorder } from "../audit/service";
import { IDENTITY_ERRORS } from "./errors";
import type { PolicyStore } from "../rate-limits/policies";
import type { UsageRecorder } from "../kernel/usage";

const SWEEP_MS = 10 * 60_000;

/** Deletes rows nobody can use any more; every instance may run it, the deletes are idempotent. */
export async function sweepIdentity(ctx: Pick<Core, "db" | "bus" | "config">): Promise<void> {
  await ctx.db
    .delete(loginFailures)
    .where(and(notLike(loginFailures.key, "good:%"), lt(loginFailures.windowStart, sql`now() - ${ctx.config.loginWindowSec}::int * interval '1 second'`)));
  // Known addresses (throttle.ts) are kept for as long as they count.
  await ctx.db.delete(loginFailures).where(and(like(loginFailures.key, "good:%"), lt(loginFailures.windowStart, sql`now() - ${KNOWN_ADDRESS_DAYS}::int * interval '1 day'`)));
  // Kept a day past expiry so a late reuse of a spent token is still recognised as reuse.
  await ctx.db.delete(refreshTokens).where(lt(refreshTokens.expiresAt, sql`now() - interval '1 day'`));
  await ctx.bus.purgeExpired();
}

/** Logins, sessions, refresh families, revocation, users (flowise-proxy and api-keys contracts). */
export const identityFeature = defineFeature({
  name: "identity",
  errors: IDENTITY_ERRORS,
  setup(core: Core, _deps: EventHooks & { rateLimits: { policies: PolicyStore }; audit: { recorder: Recorder }; usage: { recorder: UsageRecorder } }) {
    const users = new UserCache(core.db, core.bus);
    core.authn.plug({ users });
    // Computed now, not on the first unknown-user login, whose answer would otherwise be slower.
    void dummyPasswordHash();
    const timer = setInterval(() => {
      sweepIdentity(core).catch((err) => core.log.warn("identity sweep failed", { error: errorSummary(err) }));
    }, SWEEP_MS);
    timer.unref?.();
    return { services: { users }, workers: [{ name: "identity-sweeper", stop: async () => clearInterval(timer) }] };
  },
  routes(core, services, deps) {
    const ctx: IdentityContext = {
      ...core,
      events: deps.events,
      balances: deps.balances,
      users: services.users,
      record: deps.audit.recorder,
      usage: deps.usage.recorder,
      throttleNoticed: new Map(),
    };
    return new Elysia().model(identityModels).use(chatAuthRoutes(ctx)).use(authRoutes(ctx, deps.rateLimits.policies));
  },
});
