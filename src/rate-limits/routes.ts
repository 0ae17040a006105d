import { errorFamily } from "../http/errors";
import { Elysia, t } from "elysia";
import type { Core } from "../kernel/core";
import type { AuthOptions } from "../kernel/guard";
import { rateLimitBody } from "./model";
import { toBody, type PolicyStore } from "./policies";

const adminAuth: AuthOptions = { accept: ["access", "apiKey"], role: "admin", level: "admin" };

const query = t.Object({
  subject_kind: t.Union([t.Literal("key"), t.Literal("user")], { error: "subject_kind must be key or user" }),
  subject_ids: t.String({ minLength: 1, maxLength: 20_000, error: "subject_ids: comma-separated ids, at most 1000" }),
});

const answer = t.Object({
  defaults: t.Object({
    user: t.Nullable(rateLimitBody),
    address: t.Nullable(rateLimitBody),
    stream_token: rateLimitBody,
    predict_cost: t.Integer(),
  }),
  policies: t.Array(t.Object({ subject_id: t.String(), rate_limit: rateLimitBody })),
});

/** What the console shows beside keys and users: their own quotas and the configured defaults. */
export function rateLimitRoutes(core: Core, policies: PolicyStore) {
  const { config } = core;
  return new Elysia({ prefix: "/api/auth", tags: ["rate limits"] })
    .onTransform(errorFamily("detail"))
    .use(core.auth)
    .get(
      "/rate-limits",
      async ({ query: q }) => {
        const ids = [
          ...new Set(
            q.subject_ids
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean),
          ),
        ].slice(0, 1000);
        const found = await policies.many(q.subject_kind, ids);
        return {
          defaults: {
            user: toBody(config.rateLimitUser),
            address: toBody(config.rateLimitAddress),
            stream_token: { limit: config.streamTokenRatePerMin, window_s: 60 },
            predict_cost: config.rateLimitPredictCost,
          },
          policies: [...found].map(([id, quota]) => ({ subject_id: id, rate_limit: toBody(quota)! })),
        };
      },
      {
        auth: adminAuth,
        query,
        response: answer,
        detail: { summary: "Own rate limits of some keys or users, and the defaults (admin)" },
      },
    );
}
