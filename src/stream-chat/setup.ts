import type { AppContext, Worker } from "../context";
import { AuditWriter } from "./audit";
import { SlidingWindowLimiter } from "./rate-limit";
import { StreamTokenService } from "./service";
import { StreamUserTokens } from "./user-token";

export function streamTokensOf(ctx: AppContext): StreamTokenService {
  return ctx.services.streamTokens as StreamTokenService;
}

/** Called from the keys feature's setup; the Stream signing key is built once, here. */
export function setupStreamChat(ctx: AppContext): Worker[] {
  const { streamApiKey, streamApiSecret, jwtSecret, streamTokenTtlSec, streamTokenRatePerMin } = ctx.config;
  // A shared secret would let anyone holding a Stream token forge chatgate tokens, or the reverse.
  if (streamApiSecret && jwtSecret && streamApiSecret === jwtSecret) {
    throw new Error("STREAM_API_SECRET must not equal JWT_SECRET: use a separate secret for Stream Chat");
  }
  // Issuing a user token needs only the secret (config refuses a key without a secret and the reverse).
  const tokens = streamApiKey && streamApiSecret ? new StreamUserTokens(streamApiSecret) : undefined;
  const limiter = new SlidingWindowLimiter(streamTokenRatePerMin);
  const audit = new AuditWriter(ctx.db);
  ctx.services.streamTokens = new StreamTokenService(tokens, streamTokenTtlSec, limiter, audit, ctx.log);
  const timer = setInterval(() => limiter.prune(), 60_000);
  timer.unref?.();
  return [
    audit,
    { name: "stream-token-limiter", stop: async () => clearInterval(timer) },
  ];
}
