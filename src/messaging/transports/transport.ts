import type { Contact } from "../schema";

/** A claimed message with what a transport needs to deliver it. */
export interface OutboundMessage {
  id: string;
  senderId: string;
  text: string;
  templateId: string | null;
  /** Which attempt this is, starting at 1. */
  attempt: number;
  createdAt: Date;
  recipient: Contact;
}

export type { DeliveryResult } from "../../db/leased-queue";
import type { DeliveryResult } from "../../db/leased-queue";

/** Delivers one message. Expected failures (HTTP status, timeout) are results, not throws. */
export interface Transport {
  readonly name: string;
  deliver(message: OutboundMessage, signal: AbortSignal): Promise<DeliveryResult>;
}

export { describeError } from "../../db/leased-queue";
