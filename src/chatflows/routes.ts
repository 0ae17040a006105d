import { Elysia } from "elysia";
import type { Core } from "../kernel/core";
import { syncChatflows } from "./flowise-sync";
import {
  adminChatflow,
  adminChatflowList,
  chatflowInput,
  chatflowModels,
  chatflowParams,
  chatflowPatch,
  deletedChatflow,
  grantedUsers,
  grantParams,
  grantResult,
  grantsQuery,
  pageQuery,
  syncResult,
  userChatflowList,
} from "./model";
import { chatflowsForUser, createChatflow, deleteChatflow, grantAccess, listChatflows, listGrantedUsers, revokeAccess, updateChatflow } from "./service";
import { pageOf } from "../http/paging";
import type { Recorder } from "../audit/service";
import { trailOf } from "../identity/trail";
import { errorFamily } from "../http/errors";

export function chatflowsRoutes(ctx: Core, record: Recorder) {
  return new Elysia().use(adminChatflowRoutes(ctx, record)).use(userChatflowRoutes(ctx));
}

function adminChatflowRoutes(ctx: Core, record: Recorder) {
  const { db, config } = ctx;
  const audited = { config, record };
  return (
    new Elysia({ prefix: "/api/admin/chatflows", tags: ["chatflows"] })
      .onTransform(errorFamily("admin"))
      .use(ctx.auth)
      .model(chatflowModels)
      // Any successful change to a chatflow or its grants ends cached access answers everywhere.
      .onAfterHandle(async ({ request, params }) => {
        if (request.method === "GET") return;
        const id = (params as { id?: string } | undefined)?.id ?? "*";
        await ctx.bus.publish([{ kind: "chatflow", subject: id, expiresAt: new Date(Date.now() + 120_000) }]);
      })
      .post(
        "",
        async (c) => {
          c.set.status = 201;
          return createChatflow(db, c.body, trailOf(audited, c));
        },
        { admin: true, body: chatflowInput, response: { 201: adminChatflow }, detail: { summary: "Register a Flowise chatflow (409 when it exists)" } },
      )
      .get("", ({ query }) => listChatflows(db, { limit: query.limit ?? 50, offset: query.offset ?? 0 }), {
        admin: true,
        query: pageQuery,
        response: adminChatflowList,
        detail: { summary: "All chatflows with their granted user count" },
      })
      .post("/sync", (c) => syncChatflows(db, { url: config.flowiseUrl, apiKey: config.flowiseApiKey, timeoutMs: config.flowiseTimeoutMs }, trailOf(audited, c)), {
        admin: true,
        response: syncResult,
        detail: { summary: "Import Flowise's chatflows (new: cost 1, enabled; known: name only). 503 unreachable or unconfigured, 502 bad answer" },
      })
      .patch("/:id", (c) => updateChatflow(db, c.params.id, c.body, trailOf(audited, c)), {
        admin: true,
        params: chatflowParams,
        body: chatflowPatch,
        response: adminChatflow,
        detail: { summary: "Rename, re-price, enable or disable a chatflow" },
      })
      .delete(
        "/:id",
        async (c) => {
          const { params } = c;
          await deleteChatflow(db, params.id, trailOf(audited, c));
          return { id: params.id, deleted: true as const };
        },
        { admin: true, params: chatflowParams, response: deletedChatflow, detail: { summary: "Delete a chatflow and its grants" } },
      )
      .get("/:id/users", ({ params, query }) => listGrantedUsers(db, params.id, pageOf(query, 100)), {
        admin: true,
        params: chatflowParams,
        query: grantsQuery,
        response: grantedUsers,
        detail: { summary: "The users granted this chatflow (admins need no grant)" },
      })
      .put(
        "/:id/users/:user_id",
        async (c) => {
          const { params, set } = c;
          const { created } = await grantAccess(db, params.id, params.user_id, trailOf(audited, c));
          set.status = created ? 201 : 200;
          return { chatflow_id: params.id, user_id: params.user_id, granted: true };
        },
        {
          admin: true,
          params: grantParams,
          response: { 200: grantResult, 201: grantResult },
          detail: { summary: "Grant a user access (201 new, 200 already granted)" },
        },
      )
      .delete(
        "/:id/users/:user_id",
        async (c) => {
          const { params } = c;
          await revokeAccess(db, params.id, params.user_id, trailOf(audited, c));
          return { chatflow_id: params.id, user_id: params.user_id, granted: false };
        },
        { admin: true, params: grantParams, response: grantResult, detail: { summary: "Withdraw a user's access (idempotent)" } },
      )
  );
}

function userChatflowRoutes(ctx: Core) {
  return new Elysia({ tags: ["chat"] })
    .onTransform(errorFamily("detail"))
    .use(ctx.auth)
    .get("/api/v1/chat/chatflows", ({ principal }) => chatflowsForUser(ctx.db, principal.user), {
      access: true,
      response: userChatflowList,
      detail: { summary: "Chatflows the caller may use (admins: every enabled one)" },
    });
}
