import { StreamChat } from "stream-chat";
import type { Contact } from "../schema";
import { sha256Hex } from "../../ids";
import { describeError, type DeliveryResult, type OutboundMessage, type Transport } from "./transport";

/**
 * The Stream user every outbox message is sent as: messages come from the service, not from the
 * chatgate user who queued them (a user's own Stream identity is theirs to speak with, through
 * the app), and it is the one member every chatgate channel has in common.
 */
export const STREAM_SENDER = { id: "chatgate", name: "chatgate" };

/** Custom field recording the name chatgate gave a Stream user it created. */
const SET_BY_CHATGATE = "chatgate_name";

type Wanted = { id: string; name: string };

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
    // disableCache: a server has no use for the SDK's per-user and per-channel state, which
    // would otherwise grow with every recipient.
    this.client = new StreamChat(o.apiKey, o.apiSecret, { timeout: o.timeoutMs, disableCache: true });
    if (o.baseUrl) this.client.setBaseURL(o.baseUrl);
  }

  async deliver(m: OutboundMessage, _signal: AbortSignal): Promise<DeliveryResult> {
    const userId = streamUserIdOf(m.recipient);
    try {
      await this.ensureUsers([{ id: userId, name: m.recipient.name }, STREAM_SENDER]);
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

  /**
   * Creates the users Stream does not have; an existing user's profile is someone's (the
   * customer's app writes it, or another system's), so it is left alone — except a name chatgate
   * set itself and nobody has changed since. Stream's upsert replaces a whole user and has no
   * create-only form, so a user created in the moment between the query and the upsert would
   * still be overwritten; that is the one window left.
   */
  private async ensureUsers(wanted: Wanted[]): Promise<void> {
    const ids = wanted.map((u) => u.id);
    const { users } = await this.client.queryUsers({ id: { $in: ids } }, [], { limit: ids.length });
    const existing = new Map(users.map((u) => [u.id, u as unknown as Record<string, unknown>]));
    const missing = wanted.filter((u) => !existing.has(u.id));
    if (missing.length > 0) await this.client.upsertUsers(missing.map((u) => ({ ...u, [SET_BY_CHATGATE]: u.name })));
    const renamed = wanted.filter((u) => {
      const cur = existing.get(u.id);
      return cur !== undefined && cur[SET_BY_CHATGATE] === cur.name && cur.name !== u.name;
    });
    if (renamed.length > 0) await this.client.partialUpdateUsers(renamed.map((u) => ({ id: u.id, set: { name: u.name, [SET_BY_CHATGATE]: u.name } })));
  }
}
