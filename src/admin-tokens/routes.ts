import { Elysia } from "elysia";
import type { Core } from "../kernel/core";
import type { EventSink } from "../kernel/events";
import type { UsageRecorder } from "../kernel/usage";
import { pageOf } from "../http/paging";
import { apiTokenView, issueRequest, issueResponse, listQuery, TOKENS_PAGE, listResponse, patchRequest, revokeResponse, tokenIdParams } from "./model";
import { describeApiToken, issueApiToken, listApiTokens, revokeApiToken } from "./service";
import type { Recorder } from "../audit/service";
import { trailOf } from "../identity/trail";
import { errorFamily } from "../http/errors";

/** Admin-issued API tokens for the messaging API (admin-api-tokens-and-messaging.md §1). */
export function adminTokensRoutes(core: Core, events: EventSink, record: Recorder, usage: UsageRecorder) {
  const ctx = { ...core, events, usage };
  const audited = { config: core.config, record };
  return new Elysia({ prefix: "/api/admin/tokens", tags: ["admin-tokens"] })
    .onTransform(errorFamily("admin"))
    .use(ctx.auth)
    .post("", (c) => issueApiToken(ctx, c.principal.user, c.body, trailOf(audited, c)), {
      admin: true,
      body: issueRequest,
      response: issueResponse,
      detail: { summary: "Issue an API token for a user (admin)" },
    })
    .get(
      "",
      async ({ query }) => {
        const page = pageOf(query, TOKENS_PAGE);
        const { tokens, total } = await listApiTokens(ctx, query.userId, page);
        return { success: true as const, tokens, count: total, ...page };
      },
      { admin: true, query: listQuery, response: listResponse, detail: { summary: "List API tokens, never the tokens themselves (admin)" } },
    )
    .patch("/:id", (c) => describeApiToken(ctx, c.params.id, c.body, trailOf(audited, c)), {
      admin: true,
      params: tokenIdParams,
      body: patchRequest,
      response: apiTokenView,
      detail: { summary: "Change an API token's description (admin)" },
    })
    .delete(
      "/:id",
      async (c) => {
        await revokeApiToken(ctx, c.principal.user, c.params.id, trailOf(audited, c));
        return { success: true as const, message: "Token revoked" };
      },
      { admin: true, params: tokenIdParams, response: revokeResponse, detail: { summary: "Revoke an API token at once (admin)" } },
    );
}
