import { StreamChat } from "stream-chat";
import type { AppContext, Worker } from "../context";
import { AuditWriter } from "./audit";
import { SlidingWindowLimiter } from "./rate-limit";
import { StreamTokenService } from "./service";

export function streamTokensOf(ctx: AppContext): StreamTokenService {
  return ctx.services.streamTokens as StreamTokenService;
}

/** Called from the keys feature's setup; the Stream client is built once, here. */
export function setupStreamChat(ctx: AppContext): Worker[] {
  const { streamApiKey, streamApiSecret, jwtSecret, streamBaseUrl, streamTokenTtlSec, streamTokenRatePerMin } = ctx.config;
  // A shared secret would let anyone holding a Stream token forge chatgate tokens, or the reverse.
  if (streamApiSecret && jwtSecret && streamApiSecret === jwtSecret) {
    throw new Error("STREAM_API_SECRET must not equal JWT_SECRET: use a separate secret for Stream Chat");
  }
  const client =
    streamApiKey && streamApiSecret
      ? new StreamChat(streamApiKey, streamApiSecret, streamBaseUrl ? { baseURL: streamBaseUrl } : {})
      : undefined;
  const limiter = new SlidingWindowLimiter(streamTokenRatePerMin);
  const audit = new AuditWriter(ctx.db);
  ctx.services.streamTokens = new StreamTokenService(client, streamTokenTtlSec, limiter, audit);
  const timer = setInterval(() => limiter.prune(), 60_000);
  timer.unref?.();
  return [
    audit,
    { name: "stream-token-limiter", stop: async () => clearInterval(timer) },
  ];
}
