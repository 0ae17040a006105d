import type { AppContext, Worker } from "../context";
import { messagingMetrics } from "./metrics";

export interface MessagingServices {
  /** After a send request commits: count it and wake the local delivery worker. */
  onQueued(count: number): void;
}

export const messagingServices = (ctx: AppContext) => ctx.services.messaging as MessagingServices;

export async function setupMessaging(ctx: AppContext): Promise<Worker[] | void> {
  const metrics = messagingMetrics(ctx.metrics);
  const services: MessagingServices = { onQueued: (n) => metrics.queued.inc({}, n) };
  ctx.services.messaging = services;
}
