// Small line charts as plain SVG: no library, nothing fetched, colours from the stylesheet (so
// dark mode applies). Each chart is an image with a <title> and a <desc> that says in words what
// it shows (total and peak), for screen readers; the numbers are in the figure's caption too.
import { h } from "./dom";

const NS = "http://www.w3.org/2000/svg";
const W = 320;
const H = 130;
const PAD = { left: 34, right: 8, top: 8, bottom: 18 };

export interface Series {
  label: string;
  values: number[];
}

export interface ChartInput {
  id: string;
  title: string;
  /** Bucket starts (ms since the epoch), one per value. */
  buckets: number[];
  granularity: "hour" | "day";
  series: Series[];
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  return el;
}

/** 1, 2 or 5 times a power of ten, at least `n` (and at least 2). */
export function niceMax(n: number): number {
  // Counts are whole numbers: the smallest scale is 0, 1, 2.
  if (n <= 2) return 2;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

export function compact(n: number): string {
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(n % 1e6 === 0 ? 0 : 1)}M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(n % 1e3 === 0 ? 0 : 1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

export function bucketLabel(ms: number, granularity: "hour" | "day"): string {
  const iso = new Date(ms).toISOString();
  return granularity === "hour" ? `${iso.slice(11, 13)}:00` : iso.slice(5, 10);
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** What the chart shows, in words (its <desc>). */
export function describe(input: ChartInput): string {
  return input.series
    .map((s) => {
      const peak = Math.max(0, ...s.values);
      const at = s.values.indexOf(peak);
      const when = peak > 0 && at >= 0 ? ` (peak ${peak} at ${bucketLabel(input.buckets[at]!, input.granularity)} UTC)` : "";
      return `${s.label}: ${sum(s.values)} in total${when}`;
    })
    .join("; ");
}

export function lineChart(input: ChartInput): HTMLElement {
  const titleId = `${input.id}-title`;
  const descId = `${input.id}-desc`;
  const totals = input.series.map((s) => compact(sum(s.values))).join(" / ");
  const caption = h("figcaption", {}, h("span", {}, input.title), h("span", { class: "muted", "data-total": input.id }, totals));

  const n = input.buckets.length;
  const max = niceMax(Math.max(0, ...input.series.flatMap((s) => s.values)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (n <= 1 ? plotW / 2 : (i * plotW) / (n - 1));
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;

  const parts: SVGElement[] = [svg("title", { id: titleId }, input.title), svg("desc", { id: descId }, describe(input))];
  for (const v of [0, max / 2, max]) {
    parts.push(svg("line", { class: "grid", x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), "stroke-width": 1 }));
    parts.push(svg("text", { x: PAD.left - 4, y: y(v) + 4, "text-anchor": "end" }, compact(v)));
  }
  const ticks = n <= 1 ? [0] : [0, Math.floor((n - 1) / 2), n - 1];
  for (const i of ticks) {
    const anchor = i === 0 ? "start" : i === n - 1 ? "end" : "middle";
    parts.push(svg("text", { x: x(i), y: H - 4, "text-anchor": anchor }, bucketLabel(input.buckets[i]!, input.granularity)));
  }
  input.series.forEach((s, k) => {
    const points = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    if (k === 0 && n > 1) parts.push(svg("polygon", { class: "area-1", points: `${x(0)},${y(0)} ${points} ${x(n - 1)},${y(0)}` }));
    parts.push(svg("polyline", { class: `line-${k + 1}`, points, fill: "none", "stroke-width": 2, "stroke-linejoin": "round" }));
  });
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${titleId} ${descId}` }, ...parts);
  const legend =
    input.series.length > 1
      ? h(
          "div",
          { class: "legend" },
          ...input.series.map((s, k) => h("span", {}, h("span", { class: `swatch s${k + 1}`, "aria-hidden": "true" }), `${s.label} ${compact(sum(s.values))}`)),
        )
      : null;
  return h("figure", { class: "chart", id: input.id }, caption, chart as unknown as HTMLElement, legend);
}
