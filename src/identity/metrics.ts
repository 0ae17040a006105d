import type { Metrics } from "../http/metrics";

export type LoginResult = "ok" | "failed" | "throttled";

/** Counters the admin console reads; Metrics.counter returns the existing one on repeat calls. */
export function identityMetrics(metrics: Metrics) {
  return {
    logins: metrics.counter("chatgate_logins_total", "Login attempts by result (ok, failed, throttled)"),
    tokensIssued: metrics.counter("chatgate_tokens_issued_total", "Tokens issued by kind (access, refresh, api)"),
  };
}
