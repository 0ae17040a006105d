import { createHmac } from "node:crypto";
import { eq, inArray } from "drizzle-orm";
import { sql } from "drizzle-orm";
import type { DB } from "../db/client";
import { describeError, type DeliveryResult, type QueueKind } from "../db/leased-queue";
import type { Metrics } from "../http/metrics";
import { signingKeyOf, type SecretBox } from "./secret-box";
import { webhookDeliveries, webhooks } from "./schema";
import { checkTargetNow, type Resolver, type TargetPolicy } from "./target";

export interface WebhookJob {
  id: string;
  attempt: number;
  eventId: string;
  payload: string;
  url: string;
  webhookId: string;
  secretEnc: string;
  enabled: boolean;
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the secret's decoded bytes (Standard Webhooks). */
export function standardSignature(secret: string, id: string, timestamp: string, body: string): string {
  return `v1,${createHmac("sha256", signingKeyOf(secret)).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

export interface WebhookQueueDeps {
  db: DB;
  box: SecretBox;
  policy: TargetPolicy;
  metrics: Metrics;
  resolve?: Resolver;
}

/** The webhook_deliveries table as a kind of the shared leased queue. */
export function webhookQueueKind(d: WebhookQueueDeps): QueueKind<WebhookJob> {
  const sent = d.metrics.counter("chatgate_webhook_deliveries_sent_total", "Webhook deliveries a receiver accepted");
  const failed = d.metrics.counter("chatgate_webhook_deliveries_failed_total", "Webhook deliveries given up on");
  return {
    worker: "webhooks-outbox",
    noun: "webhook delivery",
    table: "webhook_deliveries",
    idField: "delivery_id",
    transportName: "webhook",
    async load(attemptOf) {
      const rows = await d.db
        .select({ w: webhookDeliveries, h: webhooks })
        .from(webhookDeliveries)
        .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
        .where(inArray(webhookDeliveries.id, [...attemptOf.keys()]));
      return rows.map(({ w, h }) => ({
        id: w.id,
        attempt: attemptOf.get(w.id)!,
        eventId: w.eventId,
        payload: w.payload,
        url: h.url,
        webhookId: h.id,
        secretEnc: h.secretEnc,
        enabled: h.enabled,
      }));
    },
    deliver: (job, signal) => deliverWebhook(d, job, signal),
    outcomeColumns: (r) => sql`response_code = ${r.responseCode ?? null}`,
    onSent: () => sent.inc(),
    onFailed: () => failed.inc(),
  };
}

/**
 * One signed POST. 2xx is delivered; anything else, a redirect (never followed), a network
 * error, a refused target or the timeout is a failed attempt, retried with backoff.
 */
export async function deliverWebhook(d: WebhookQueueDeps, job: WebhookJob, signal: AbortSignal): Promise<DeliveryResult> {
  if (!job.enabled) return { ok: false, error: "webhook disabled", final: true };
  const target = await checkTargetNow(job.url, d.policy, d.resolve);
  if (!target.ok) return { ok: false, error: `target refused: ${target.reason}` };
  let secret: string;
  try {
    secret = await d.box.open(job.secretEnc, job.webhookId);
  } catch {
    return { ok: false, error: "signing secret unreadable (master secret changed? rotate the webhook secret)", final: true };
  }
  const timestamp = String(Math.floor(Date.now() / 1000));
  try {
    const res = await fetch(target.url, {
      method: "POST",
      signal,
      redirect: "manual",
      headers: {
        "content-type": "application/json",
        "user-agent": "chatgate-webhooks",
        "webhook-id": job.eventId,
        "webhook-timestamp": timestamp,
        "webhook-signature": standardSignature(secret, job.eventId, timestamp, job.payload),
      },
      body: job.payload,
    });
    // The body is not needed; reading it frees the connection.
    await res.arrayBuffer().catch(() => undefined);
    if (res.ok) return { ok: true, responseCode: res.status };
    const why = res.status >= 300 && res.status < 400 ? "redirect not followed" : "receiver answered";
    return { ok: false, error: `${why}: HTTP ${res.status}`, responseCode: res.status };
  } catch (err) {
    return { ok: false, error: `webhook ${describeError(err)}` };
  }
}
