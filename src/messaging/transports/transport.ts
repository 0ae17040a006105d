import { errorSummary } from "../../http/logger";
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

export type DeliveryResult = { ok: true } | { ok: false; error: string };

/** Delivers one message. Expected failures (HTTP status, timeout) are results, not throws. */
export interface Transport {
  readonly name: string;
  deliver(message: OutboundMessage, signal: AbortSignal): Promise<DeliveryResult>;
}

/** Error text that is safe to store and show: no URLs (they may carry credentials), bounded length. */
export function describeError(err: unknown): string {
  const e = err as { name?: string; message?: string };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return "timeout";
  return errorSummary(err);
}
