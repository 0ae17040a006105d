import { Elysia } from "elysia";
import type { Core } from "../kernel/core";
import { MESSAGING_AUTH } from "./auth";
import { cancelMessage, getMessage, listMessages, retryMessage } from "./messages-service";
import { idParams, messageAnswer, messageList, messageQuery, sendBulkInput, sendPrivateInput, sendResult, sendTemplateInput } from "./model";
import { sendMessages, type SendDeps } from "./send-service";
import { errorFamily } from "../http/errors";
import type { Recorder } from "../audit/service";
import { trailOf } from "../identity/trail";

/** `onQueued`: after a send request commits (counts it and wakes the local delivery worker). */
export function messagesRoutes(ctx: Core, onQueued: (count: number) => void, record: Recorder) {
  const { db } = ctx;
  const audited = { config: ctx.config, record };
  const deps: SendDeps = { db, maxRecipients: ctx.config.maxRecipients, onQueued };
  const transport = ctx.config.messageTransport;
  const idemKey = (headers: Record<string, string | undefined>) => headers["idempotency-key"];
  const sendDoc = (summary: string) => ({
    summary,
    description: "Queues one message per recipient, all or nothing. An `Idempotency-Key` header makes retries safe.",
  });
  return new Elysia({ prefix: "/api/messages", tags: ["messaging"] })
    .onTransform(errorFamily("messaging"))
    .use(ctx.auth)
    .post("/send-template", ({ principal, body, headers }) => sendMessages(deps, principal.user, { kind: "template", ...body }, idemKey(headers)), {
      ...MESSAGING_AUTH,
      body: sendTemplateInput,
      response: sendResult,
      detail: sendDoc("Render a template for each recipient and queue it"),
    })
    .post("/send-bulk", ({ principal, body, headers }) => sendMessages(deps, principal.user, { kind: "bulk", ...body }, idemKey(headers)), {
      ...MESSAGING_AUTH,
      body: sendBulkInput,
      response: sendResult,
      detail: sendDoc("Queue one text for many recipients"),
    })
    .post("/send-private", ({ principal, body, headers }) => sendMessages(deps, principal.user, { kind: "private", ...body }, idemKey(headers)), {
      ...MESSAGING_AUTH,
      body: sendPrivateInput,
      response: sendResult,
      detail: sendDoc("Queue a text for one recipient"),
    })
    .get("/", async ({ principal, query }) => ({ success: true as const, ...(await listMessages(db, principal.user, query)), transport }), {
      ...MESSAGING_AUTH,
      query: messageQuery,
      response: messageList,
      detail: { summary: "Messages you sent (admins: all), newest first, and the deployment's transport (none: they stay queued)" },
    })
    .get("/:id", async ({ principal, params }) => ({ success: true as const, message: await getMessage(db, principal.user, params.id) }), {
      ...MESSAGING_AUTH,
      params: idParams,
      response: messageAnswer,
      detail: { summary: "One message and its delivery state" },
    })
    .post(
      "/:id/retry",
      async (c) => {
        const message = await retryMessage(db, c.principal.user, c.params.id, trailOf(audited, c));
        onQueued(1);
        return { success: true as const, message };
      },
      {
        ...MESSAGING_AUTH,
        params: idParams,
        response: messageAnswer,
        detail: { summary: "Queue a failed or cancelled message again, due now, with a fresh budget of attempts (409 otherwise)" },
      },
    )
    .post("/:id/cancel", async (c) => ({ success: true as const, message: await cancelMessage(db, c.principal.user, c.params.id, trailOf(audited, c)) }), {
      ...MESSAGING_AUTH,
      params: idParams,
      response: messageAnswer,
      detail: { summary: "Cancel a queued message; 409 while a delivery attempt is under way or once it is sent, failed or cancelled" },
    });
}
