// /metrics gives counters since the process started; "last hour" figures are deltas the console
// computes between its own samples, so they cover at most the time the console has been open.

export interface Sample {
  at: number;
  values: Map<string, number>;
}

const WATCHED = ["chatgate_http_requests_total", "chatgate_logins_total", "chatgate_predictions_total", "chatgate_tokens_issued_total"];

/** Sums each watched counter, overall (`name`) and per first label value (`name|value`). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const add = (k: string, v: number) => out.set(k, (out.get(k) ?? 0) + v);
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || !WATCHED.includes(m[1]!)) continue;
    const value = Number(m[4]);
    if (!Number.isFinite(value)) continue;
    add(m[1]!, value);
    for (const l of (m[3] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      if (l[1] === "result" || l[1] === "kind" || l[1] === "status") add(`${m[1]}|${l[1]}=${l[2]}`, value);
    }
  }
  return out;
}

const HOUR = 3600_000;
const samples: Sample[] = [];

export function record(values: Map<string, number>, at = Date.now()): void {
  samples.push({ at, values });
  while (samples.length > 1 && samples[0]!.at < at - HOUR) samples.shift();
}

export function forgetSamples(): void {
  samples.length = 0;
}

/** Change of a counter over the kept window; a restart (counter went down) counts from zero. */
export function delta(key: string): { value: number; minutes: number } {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last || first === last) return { value: 0, minutes: 0 };
  const a = first.values.get(key) ?? 0;
  const b = last.values.get(key) ?? 0;
  return { value: b >= a ? b - a : b, minutes: Math.round((last.at - first.at) / 60_000) };
}

export function latest(key: string): number {
  return samples[samples.length - 1]?.values.get(key) ?? 0;
}
