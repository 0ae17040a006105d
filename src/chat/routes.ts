import { Elysia } from "elysia";
import type { Core } from "../kernel/core";
import { chatModels, predictAnswer, predictBody, sessionHistoryModel, sessionList, sessionParams, sessionsQuery } from "./model";
import { allowUpstreamWait, type ChatDeps } from "./pipeline";
import { predict } from "./predict";
import { listSessions, sessionHistory } from "./sessions";
import { requestIdOf } from "../http/core";
import { errorFamily } from "../http/errors";

const wantsStream = (request: Request, streaming?: boolean) => streaming === true || (request.headers.get("accept") ?? "").toLowerCase().includes("text/event-stream");

function predictRoutes(ctx: Core, deps: ChatDeps) {
  return new Elysia({ tags: ["chat"] })
    .onTransform(errorFamily("detail"))
    .use(ctx.auth)
    .model(chatModels)
    .post(
      "/api/v1/chat/predict",
      ({ body, principal, request, headers, server }) => {
        allowUpstreamWait(server, request, deps.config);
        return predict(deps, {
          user: principal.user,
          body,
          stream: wantsStream(request, body.streaming),
          idempotencyKey: headers["idempotency-key"],
          signal: request.signal,
          requestId: requestIdOf(request),
        });
      },
      {
        access: true,
        body: predictBody,
        detail: {
          summary: "Ask a chatflow: JSON, or text/event-stream with `streaming: true` / `Accept: text/event-stream`",
          description:
            "Reserves the chatflow's cost first (402 when short). 503 Flowise unreachable, 504 no first byte within FLOWISE_TIMEOUT, " +
            "502 Flowise error or garbage; each refunds. A stream relays Flowise's frames byte for byte, adds a `session_id` frame before `end`, " +
            "and ends a failure after it started with an `error` frame then `end`. Charged only once answer content (a non-empty `token`, or the JSON answer) was written to the client. " +
            "A stream beyond MAX_STREAMS_PER_USER open ones of the caller → 429 with Retry-After.",
          responses: {
            200: {
              description: "Flowise's JSON answer plus session_id, or (streaming) its event stream",
              content: {
                "application/json": { schema: predictAnswer },
                "text/event-stream": {
                  schema: {
                    type: "string",
                    description:
                      'Flowise\'s frames (`message:\\ndata:{"event":...,"data":...}`): start (""), token, sourceDocuments, metadata, ' +
                      'error, then chatgate\'s session_id and end "[DONE]"; `:heartbeat` comments while Flowise is silent',
                  },
                },
              },
            },
          },
        },
      },
    );
}

function sessionRoutes(ctx: Core) {
  const { db } = ctx;
  return new Elysia({ tags: ["chat"] })
    .onTransform(errorFamily("detail"))
    .use(ctx.auth)
    .get("/api/v1/chat/sessions", ({ principal, query }) => listSessions(db, principal.user.id, { limit: query.limit ?? 50, offset: query.offset ?? 0 }), {
      access: true,
      query: sessionsQuery,
      response: sessionList,
      detail: { summary: "The caller's chat sessions, newest first" },
    })
    .get("/api/v1/chat/sessions/:id/history", ({ principal, params }) => sessionHistory(db, principal.user.id, params.id), {
      access: true,
      params: sessionParams,
      response: sessionHistoryModel,
      detail: { summary: "A session's messages, oldest first (404 for another user's session)" },
    });
}

export function chatRoutes(ctx: Core, deps: ChatDeps) {
  return new Elysia().use(predictRoutes(ctx, deps)).use(sessionRoutes(ctx));
}
