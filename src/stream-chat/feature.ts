import type { Core } from "../kernel/core";
import { defineFeature } from "../kernel/feature";
import type { UsageRecorder } from "../kernel/usage";
import { AuditWriter } from "./audit";
import { streamChatRoutes } from "./routes";
import { StreamTokenService } from "./service";
import { StreamUserTokens } from "./user-token";
import { STREAM_ERRORS } from "./errors";

/** The Stream signing key is built once, here. */
function setup(ctx: Core, deps: { usage: { recorder: UsageRecorder } }) {
  const { streamApiKey, streamApiSecret, jwtSecret, streamTokenTtlSec } = ctx.config;
  // A shared secret would let anyone holding a Stream token forge chatgate tokens, or the reverse.
  if (streamApiSecret && jwtSecret && streamApiSecret === jwtSecret) {
    throw new Error("STREAM_API_SECRET must not equal JWT_SECRET: use a separate secret for Stream Chat");
  }
  // Issuing a user token needs only the secret (config refuses a key without a secret and the reverse).
  const tokens = streamApiKey && streamApiSecret ? new StreamUserTokens(streamApiSecret) : undefined;
  const audit = new AuditWriter(ctx.db);
  // STREAM_TOKEN_RATE is one of the rate-limits feature's policies (shared by every instance).
  const streamTokens = new StreamTokenService(tokens, streamTokenTtlSec, audit, ctx.log, deps.usage.recorder);
  return { services: { tokens: streamTokens }, workers: [audit] };
}

/** Stream Chat user tokens for the authenticated customer (stream-chat-token.md). */
export const streamChatFeature = defineFeature({
  name: "stream-chat",
  errors: STREAM_ERRORS,
  setup,
  routes: (core, services) => streamChatRoutes(core, services.tokens),
});
