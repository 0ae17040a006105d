import { Elysia, t } from "elysia";
import { allowUpstreamWait, type ChatDeps } from "../chat/pipeline";
import type { Core } from "../kernel/core";
import { brainMessage, brainModels, chatCreated, chatParams, createChatBody, questionBody, questionQuery } from "./model";
import { askBrain, chatHistory, createChat } from "./service";
import { errorFamily } from "../http/errors";

/** The brain API shares the chat feature's pipeline. */
export function brainRoutes(ctx: Core, deps: ChatDeps) {
  return new Elysia({ tags: ["brain"] })
    .onTransform(errorFamily("brain"))
    .use(ctx.auth)
    .model(brainModels)
    .post("/chat", ({ principal, body }) => createChat(deps, principal.user.id, body.name), {
      auth: { accept: ["access", "apiKey"], level: "write" },
      body: createChatBody,
      response: chatCreated,
      detail: { summary: "Create a chat (a chat session) for the caller" },
    })
    .get("/chat/:chat_id/history", ({ principal, params }) => chatHistory(deps, principal.user.id, params.chat_id), {
      auth: { accept: ["access", "apiKey"] },
      params: chatParams,
      response: t.Array(brainMessage),
      detail: { summary: "A chat's questions and answers, oldest first (404 for another user's chat)" },
    })
    .post(
      "/chat/:chat_id/question/stream",
      ({ principal, params, query, body, request, server }) => {
        allowUpstreamWait(server, request, deps.config);
        return askBrain(deps, { principal, chatId: params.chat_id, brainId: query.brain_id, question: body.question, signal: request.signal });
      },
      {
        auth: { accept: ["chat", "access", "apiKey"], level: "write" },
        params: chatParams,
        query: questionQuery,
        body: questionBody,
        detail: {
          summary: "Ask a brain; answers text/event-stream `data: {json}` frames",
          description:
            "Accepts a brain chat token (its own brain only, else 403), an access token or a write API key. Each frame has chat_id, message_id, " +
            'user_message, message_time, assistant (the new text), prompt_title, brain_name, brain_id, metadata; the last has assistant "" and ' +
            "metadata.sources (plus metadata.error after a failure). An unknown chat_id is created for the caller; another user's → 404. " +
            "Beyond MAX_STREAMS_PER_USER open streams of the caller → 429 with Retry-After.",
          responses: { 200: { description: "Server-sent events", content: { "text/event-stream": { schema: { type: "string" } } } } },
        },
      },
    );
}
