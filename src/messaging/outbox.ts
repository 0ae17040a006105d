import { eq, inArray } from "drizzle-orm";
import type { Worker } from "../kernel/core";
import type { DB } from "../db/client";
import { LeasedQueue } from "../db/leased-queue";
import { contacts, messages } from "./schema";
import type { Logger } from "../http/logger";
import type { MessagingMetrics } from "./metrics";
import type { OutboundMessage, Transport } from "./transports/transport";

export { backoffMs } from "../db/leased-queue";

export interface OutboxOptions {
  db: DB;
  transport: Transport;
  log: Logger;
  metrics: MessagingMetrics;
  maxAttempts: number;
  retryBaseMs: number;
  pollMs: number;
  sendTimeoutMs: number;
  batchSize?: number;
}

/**
 * Drains the messages table through the shared leased queue (src/db/leased-queue.ts: claims,
 * leases, fencing, backoff), handing each claimed message with its contact to the transport.
 */
export class Outbox extends LeasedQueue<OutboundMessage> implements Worker {
  constructor(o: OutboxOptions) {
    super(o, {
      worker: "messaging-outbox",
      noun: "message",
      table: "messages",
      idField: "message_id",
      transportName: o.transport.name,
      load: (claimed) => loadMessages(o.db, claimed),
      deliver: (m, signal) => o.transport.deliver(m, signal),
      onSent: () => o.metrics.sent.inc(),
      onFailed: () => o.metrics.failed.inc(),
    });
  }
}

async function loadMessages(db: DB, attemptOf: Map<string, number>): Promise<OutboundMessage[]> {
  const rows = await db
    .select({ m: messages, c: contacts })
    .from(messages)
    .innerJoin(contacts, eq(contacts.id, messages.recipientId))
    .where(inArray(messages.id, [...attemptOf.keys()]));
  return rows.map(({ m, c }) => ({
    id: m.id,
    senderId: m.senderId,
    text: m.text,
    templateId: m.templateId,
    attempt: attemptOf.get(m.id)!,
    createdAt: m.createdAt,
    recipient: c,
  }));
}
