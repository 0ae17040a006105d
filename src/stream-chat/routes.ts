import { Elysia, t } from "elysia";
import type { Core } from "../kernel/core";
import { clientAddress } from "../identity/throttle";
import { requestIdOf } from "../http/core";
import { parseCustomerId, type StreamTokenService } from "./service";
import { STREAM_ERRORS } from "./errors";
import { errorFamily } from "../http/errors";

// Declared loosely and checked by parseCustomerId: Elysia coerces numeric strings for number
// schemas, and the contract wants `"123"` refused like any other non-integer.
const customerId = t.Unknown({ description: "Integer from 1 to 2147483647", examples: [123] });
const tokenRequest = t.Object({ customer_id: customerId }, { error: STREAM_ERRORS.BAD_CUSTOMER_ID.message });
const tokenResponse = t.Object({ token: t.String() });

// The same client address the login throttle uses (X-Forwarded-For only with TRUST_PROXY).
function auditAddress(ctx: Core, server: Parameters<typeof clientAddress>[1], request: Request): string | null {
  const address = clientAddress(ctx.config, server, request);
  return address === "unknown" ? null : address;
}

export function streamChatRoutes(ctx: Core, tokens: StreamTokenService) {
  return new Elysia({ prefix: "/stream-chat", tags: ["stream chat"] })
    .onTransform(errorFamily("stream"))
    .use(ctx.auth)
    .model({ "streamChat.tokenRequest": tokenRequest, "streamChat.token": tokenResponse })
    .post(
      "/token",
      ({ body, principal, request, server }) =>
        tokens.issue(principal.user, parseCustomerId(body.customer_id), {
          ip: auditAddress(ctx, server, request),
          userAgent: request.headers.get("user-agent")?.slice(0, 500) ?? null,
          requestId: requestIdOf(request),
        }),
      {
        access: true,
        body: tokenRequest,
        response: tokenResponse,
        detail: { summary: "A Stream Chat user token for customer-{customer_id}" },
      },
    );
}
