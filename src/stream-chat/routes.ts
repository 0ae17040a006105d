import { Elysia, t } from "elysia";
import type { AppContext } from "../context";
import { STREAM_MESSAGES } from "./service";
import { streamTokensOf } from "./setup";

// 2^31 - 1: customer ids are Postgres integers.
const customerId = t.Integer({ minimum: 1, maximum: 2147483647, error: STREAM_MESSAGES.badCustomerId });

export function streamChatRoutes(ctx: AppContext) {
  const tokens = streamTokensOf(ctx);
  return new Elysia({ prefix: "/stream-chat", tags: ["stream chat"] })
    .use(ctx.auth)
    .model({
      "streamChat.tokenRequest": t.Object({ customer_id: customerId }, { error: STREAM_MESSAGES.badCustomerId }),
      "streamChat.token": t.Object({ token: t.String() }),
    })
    .post(
      "/token",
      ({ body, principal, request, server }) =>
        tokens.issue(principal.user, body.customer_id, {
          ip: server?.requestIP(request)?.address ?? null,
          userAgent: request.headers.get("user-agent")?.slice(0, 500) ?? null,
        }),
      {
        access: true,
        body: "streamChat.tokenRequest",
        response: "streamChat.token",
        detail: { summary: "A Stream Chat user token for customer-{customer_id}" },
      },
    );
}
