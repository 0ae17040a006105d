import { sql } from "drizzle-orm";
import { Elysia } from "elysia";
import type { Core } from "../kernel/core";
import { defineFeature } from "../kernel/feature";
import { contactsRoutes } from "./contacts-routes";
import { messagesRoutes } from "./messages-routes";
import { messagingModels } from "./model";
import { templatesRoutes } from "./templates-routes";
import { messages } from "./schema";
import { messagingMetrics } from "./metrics";
import { Outbox } from "./outbox";
import type { Transport } from "./transports/transport";
import { WebhookTransport } from "./transports/webhook";
import { StreamTransport } from "./transports/stream";
import { MESSAGING_ERRORS } from "./errors";
import type { Recorder } from "../audit/service";

export interface MessagingServices {
  outbox?: Outbox;
  /** After a send request commits: count it and wake the local delivery worker. */
  onQueued(count: number): void;
}

function transportFor(ctx: Core): Transport | undefined {
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

const STATUSES = ["queued", "sent", "failed", "cancelled"] as const;

function setup(ctx: Core, _deps: { audit: { recorder: Recorder } }) {
  const metrics = messagingMetrics(ctx.metrics);
  // Read at scrape time from the table, so it counts every instance's outbox, not this one's.
  ctx.metrics.gauge("chatgate_outbox_messages", "Messages in the outbox by status (all instances)", async (g) => {
    const rows = await ctx.db.select({ status: messages.status, n: sql<number>`count(*)::int` }).from(messages).groupBy(messages.status);
    for (const status of STATUSES) g.set({ status }, rows.find((r) => r.status === status)?.n ?? 0);
  });
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
  if (!outbox) return { services };
  outbox.start();
  return { services, workers: [outbox] };
}

/** Contacts, templates and messages delivered through the outbox (admin-api-tokens-and-messaging.md §2). */
export const messagingFeature = defineFeature({
  name: "messaging",
  errors: MESSAGING_ERRORS,
  setup,
  routes: (core, services, deps) =>
    new Elysia()
      .model(messagingModels)
      .use(contactsRoutes(core))
      .use(templatesRoutes(core))
      .use(messagesRoutes(core, services.onQueued, deps.audit.recorder)),
});
