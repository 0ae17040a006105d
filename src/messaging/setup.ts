import type { AppContext, Worker } from "../context";
import { messagingMetrics } from "./metrics";
import { Outbox } from "./outbox";
import type { Transport } from "./transports/transport";
import { WebhookTransport } from "./transports/webhook";
import { StreamTransport } from "./transports/stream";

export interface MessagingServices {
  outbox?: Outbox;
  /** After a send request commits: count it and wake the local delivery worker. */
  onQueued(count: number): void;
}

export const messagingServices = (ctx: AppContext) => ctx.services.messaging as MessagingServices;

function transportFor(ctx: AppContext): Transport | undefined {
  const c = ctx.config;
  switch (c.messageTransport) {
    case "webhook":
      return new WebhookTransport(c.messageWebhookUrl!, c.messageWebhookSecret!);
    case "stream":
      // loadConfig refuses MESSAGE_TRANSPORT=stream without both.
      return new StreamTransport({ apiKey: c.streamApiKey!, apiSecret: c.streamApiSecret!, baseUrl: c.streamBaseUrl, timeoutMs: c.messageSendTimeoutMs });
    case "none":
      // Messages stay queued until a transport is configured; /readyz says so.
      return undefined;
  }
}

export async function setupMessaging(ctx: AppContext): Promise<Worker[] | void> {
  const metrics = messagingMetrics(ctx.metrics);
  const transport = transportFor(ctx);
  const c = ctx.config;
  const outbox = transport
    ? new Outbox({
        db: ctx.db,
        transport,
        log: ctx.log,
        metrics,
        maxAttempts: c.messageMaxAttempts,
        retryBaseMs: c.messageRetryBaseMs,
        pollMs: c.messagePollMs,
        sendTimeoutMs: c.messageSendTimeoutMs,
      })
    : undefined;
  const services: MessagingServices = {
    outbox,
    onQueued: (n) => {
      metrics.queued.inc({}, n);
      outbox?.wake();
    },
  };
  ctx.services.messaging = services;
  if (!outbox) return;
  outbox.start();
  return [outbox];
}
