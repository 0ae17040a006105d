import { StreamChat } from "stream-chat";
import type { Contact } from "../../db/schema";
import { sha256Hex } from "../../ids";
import { describeError, type DeliveryResult, type OutboundMessage, type Transport } from "./transport";

/** The Stream user every outbox message is sent as (upserted with each delivery). */
export const STREAM_SENDER = { id: "chatgate", name: "chatgate" };

/** A contact's Stream user: its `stream_user_id`, else `customer-{contact id}`. */
export const streamUserIdOf = (c: Contact) => c.streamUserId ?? `customer-${c.id}`;

/**
 * The recipient's channel: `messaging:chatgate-{stream user id}`, with the sender and the
 * recipient as members. Channel ids allow fewer characters (and at most 64) than user ids, so
 * an id that does not fit is replaced by a hash of it.
 */
export function channelIdFor(streamUserId: string): string {
  const id = `chatgate-${streamUserId}`;
  return /^[A-Za-z0-9_!-]{1,64}$/.test(id) ? id : `chatgate-${sha256Hex(streamUserId).slice(0, 40)}`;
}

export interface StreamTransportOptions {
  apiKey: string;
  apiSecret: string;
  baseUrl?: string;
  timeoutMs: number;
}

/**
 * Three server-side calls per message: upsert both users, get-or-create the channel, send.
 * The Stream message id is the outbox id, so a retry after a lost answer is refused by Stream
 * as a duplicate, which counts as delivered here.
 */
export class StreamTransport implements Transport {
  readonly name = "stream";
  private readonly client: StreamChat;

  constructor(o: StreamTransportOptions) {
    // `new`, not getInstance(): the SDK's singleton would be shared by every app in a process.
    this.client = new StreamChat(o.apiKey, o.apiSecret, { timeout: o.timeoutMs });
    if (o.baseUrl) this.client.setBaseURL(o.baseUrl);
  }

  async deliver(m: OutboundMessage, _signal: AbortSignal): Promise<DeliveryResult> {
    const userId = streamUserIdOf(m.recipient);
    try {
      await this.client.upsertUsers([{ id: userId, name: m.recipient.name }, STREAM_SENDER]);
      const channel = this.client.channel("messaging", channelIdFor(userId), {
        created_by_id: STREAM_SENDER.id,
        members: [userId, STREAM_SENDER.id],
      });
      await channel.create();
      await channel.sendMessage({ id: m.id, text: m.text, user_id: STREAM_SENDER.id });
      return { ok: true };
    } catch (err) {
      if (/already exists/i.test((err as Error)?.message ?? "")) return { ok: true };
      return { ok: false, error: `stream ${describeError(err)}` };
    }
  }
}
