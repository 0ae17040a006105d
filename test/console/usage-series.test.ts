// The Overview's arithmetic, without a browser: buckets of a range, series with missing buckets
// as zero, totals per subject, chart scales and the words a chart's <desc> says.
import { describe, expect, test } from "bun:test";
import { bucketLabel, compact, describe as describeChart, niceMax } from "../../src/console/ui/chart";
import { bucketsOf, seriesOf, totalsBy, type UsageRow } from "../../src/console/ui/usage";

const NOW = Date.parse("2026-11-30T23:15:00Z");
const row = (bucket: string, id: string | null, requests: number, credits = 0) =>
  ({ bucket, id, requests, credits_spent: credits, predictions: 0, failed_predictions: 0 }) as unknown as UsageRow;

describe("usage series for the Overview", () => {
  test("a range is whole UTC buckets ending with the one that holds now", () => {
    const hours = bucketsOf("24h", NOW);
    expect(hours).toHaveLength(24);
    expect(new Date(hours.at(-1)!).toISOString()).toBe("2026-11-30T23:00:00.000Z");
    expect(new Date(hours[0]!).toISOString()).toBe("2026-11-30T00:00:00.000Z");
    const days = bucketsOf("30d", NOW);
    expect(days).toHaveLength(30);
    expect(new Date(days[0]!).toISOString()).toBe("2026-11-01T00:00:00.000Z");
  });

  test("rows land in their bucket, several subjects add up, missing buckets are zero, rows outside are ignored", () => {
    const buckets = bucketsOf("24h", NOW);
    const rows = [row("2026-11-30T22:00:00.000Z", "a", 2), row("2026-11-30T22:00:00Z", "b", 3), row("2026-11-30T01:00:00Z", null, 1), row("2026-11-29T01:00:00Z", "a", 99)];
    const s = seriesOf(rows, buckets, "requests", "hour");
    expect(s[22]).toBe(5);
    expect(s[1]).toBe(1);
    expect(s.reduce((a, b) => a + b, 0)).toBe(6);
    const days = seriesOf(rows, bucketsOf("7d", NOW), "requests", "day");
    expect(days.slice(-2)).toEqual([99, 6]);
  });

  test("totals per subject, largest first, without the anonymous row", () => {
    const rows = [
      row("2026-11-30T22:00:00Z", "a", 2, 10),
      row("2026-11-30T21:00:00Z", "b", 3, 40),
      row("2026-11-30T20:00:00Z", "a", 1, 5),
      row("2026-11-30T20:00:00Z", null, 9, 90),
    ];
    expect(totalsBy(rows, "credits_spent")).toEqual([
      ["b", 40],
      ["a", 15],
    ]);
  });

  test("chart scales, numbers and words", () => {
    expect([0, 1, 2, 3, 7, 11, 49, 51, 999, 1001].map(niceMax)).toEqual([2, 2, 2, 5, 10, 20, 50, 100, 1000, 2000]);
    expect([5, 12_345, 2_000_000].map(compact)).toEqual(["5", "12.3k", "2M"]);
    expect(bucketLabel(NOW, "hour")).toBe("23:00");
    expect(bucketLabel(NOW, "day")).toBe("11-30");
    const buckets = bucketsOf("24h", NOW);
    const values = buckets.map((_, i) => (i === 5 ? 7 : i === 6 ? 1 : 0));
    expect(describeChart({ id: "x", title: "Requests", buckets, granularity: "hour", series: [{ label: "Requests", values }] })).toBe("Requests: 8 in total (peak 7 at 05:00 UTC)");
  });
});
