import type { Metrics } from "../http/metrics";

export function messagingMetrics(metrics: Metrics) {
  return {
    queued: metrics.counter("chatgate_messages_queued_total", "Messages accepted into the outbox"),
    sent: metrics.counter("chatgate_messages_sent_total", "Messages the transport accepted"),
    failed: metrics.counter("chatgate_messages_failed_total", "Messages given up on after the last attempt"),
  };
}
export type MessagingMetrics = ReturnType<typeof messagingMetrics>;
