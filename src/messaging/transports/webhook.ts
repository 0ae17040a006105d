import { createHmac } from "node:crypto";
import { describeError, type DeliveryResult, type OutboundMessage, type Transport } from "./transport";

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, what receivers recompute to verify. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export function webhookPayload(m: OutboundMessage) {
  const r = m.recipient;
  return {
    id: m.id,
    recipient: { id: r.id, name: r.name, email: r.email, phone: r.phone, stream_user_id: r.streamUserId },
    text: m.text,
    metadata: {
      sender_id: m.senderId,
      template_id: m.templateId,
      attempt: m.attempt,
      created_at: m.createdAt.toISOString(),
      attributes: r.attributes,
    },
  };
}

/**
 * POSTs each message as signed JSON. 2xx means delivered; any other status, a network error or
 * the timeout means "try again later". Receivers should dedupe on `id` (also sent as
 * X-Chatgate-Message-Id): delivery is at least once when an instance dies mid-request.
 */
export class WebhookTransport implements Transport {
  readonly name = "webhook";

  constructor(
    private readonly url: string,
    private readonly secret: string,
  ) {}

  async deliver(m: OutboundMessage, signal: AbortSignal): Promise<DeliveryResult> {
    const body = JSON.stringify(webhookPayload(m));
    const timestamp = String(Math.floor(Date.now() / 1000));
    try {
      const res = await fetch(this.url, {
        method: "POST",
        signal,
        redirect: "manual",
        headers: {
          "content-type": "application/json",
          "user-agent": "chatgate-webhook",
          "x-chatgate-timestamp": timestamp,
          "x-chatgate-signature": webhookSignature(this.secret, timestamp, body),
          "x-chatgate-message-id": m.id,
        },
        body,
      });
      // The body is not needed; reading it frees the connection.
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? { ok: true } : { ok: false, error: `webhook answered HTTP ${res.status}` };
    } catch (err) {
      return { ok: false, error: `webhook ${describeError(err)}` };
    }
  }
}
