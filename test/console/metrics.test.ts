// The overview's reading of /metrics: sums per counter and label, deltas between samples.
import { beforeEach, describe, expect, test } from "bun:test";
import { delta, forgetSamples, latest, parseMetrics, record } from "../../src/console/ui/metrics";

const TEXT = `# HELP chatgate_logins_total Login attempts by result (ok, failed, throttled)
# TYPE chatgate_logins_total counter
chatgate_logins_total{result="ok"} 3
chatgate_logins_total{result="failed"} 2
chatgate_http_requests_total{route="/api/v1/chat/authenticate",method="POST",status="200"} 3
chatgate_http_requests_total{route="/x{y}",method="GET",status="404"} 4
chatgate_tokens_issued_total{kind="access"} 5
chatgate_tokens_issued_total{kind="api"} 1
chatgate_http_request_duration_seconds_bucket{route="/healthz",le="0.005"} 9
chatgate_predictions_total{mode="json",result="ok"} 7
`;

beforeEach(() => forgetSamples());

describe("parseMetrics", () => {
  test("sums each watched counter overall and by result/kind, ignores the rest", () => {
    const m = parseMetrics(TEXT);
    expect(m.get("chatgate_logins_total")).toBe(5);
    expect(m.get("chatgate_logins_total|result=ok")).toBe(3);
    expect(m.get("chatgate_logins_total|result=failed")).toBe(2);
    expect(m.get("chatgate_http_requests_total")).toBe(7);
    expect(m.get("chatgate_tokens_issued_total|kind=api")).toBe(1);
    expect(m.get("chatgate_predictions_total")).toBe(7);
    expect([...m.keys()].some((k) => k.includes("duration"))).toBe(false);
  });
});

describe("delta", () => {
  test("change between the oldest kept sample and the newest; samples older than an hour are dropped", () => {
    const t0 = 1_000_000_000;
    record(new Map([["c", 10]]), t0);
    record(new Map([["c", 15]]), t0 + 30 * 60_000);
    expect(delta("c")).toEqual({ value: 5, minutes: 30 });
    record(new Map([["c", 40]]), t0 + 70 * 60_000);
    expect(delta("c")).toEqual({ value: 25, minutes: 40 });
    expect(latest("c")).toBe(40);
  });

  test("one sample gives no window; a restarted process (counter went down) counts from zero", () => {
    record(new Map([["c", 50]]), 1000);
    expect(delta("c")).toEqual({ value: 0, minutes: 0 });
    record(new Map([["c", 4]]), 61_000);
    expect(delta("c").value).toBe(4);
  });
});
