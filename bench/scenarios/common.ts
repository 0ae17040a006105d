import { runLoad, warmAndRun, type LoadResult, type LoadSpec } from "../load";
import { cpuUsPerRequest, type Row } from "../report";
import type { Seed } from "../seed";

export interface Baseline {
  name: string;
  result: LoadResult;
  /** Measures the baseline again right before a scenario, so slow drift in the machine's load hits both alike. */
  remeasure?: () => Promise<LoadResult>;
}

export interface Bench {
  /** chatgate, e.g. http://127.0.0.1:PORT */
  base: string;
  pid: number;
  seed: Seed;
  connections: number;
  duration: number;
  /** Raw Bun.serve, read with one fixed request (static) and with rotating requests (scripted). */
  raw: { static?: Baseline; scripted?: Baseline };
  upstream: { flowise: string; flowiseKey: string; openai: string; portkey?: string; portkeyNote?: string };
  rows: Row[];
  log(msg: string): void;
}

/** One request before the load: a scenario runs only when its endpoint answers 2xx now. */
export async function probe(spec: LoadSpec): Promise<string | undefined> {
  const v = spec.variants?.[0] ?? {};
  try {
    const res = await fetch(spec.url, {
      method: spec.method ?? "GET",
      headers: { ...(spec.headers ?? {}), ...(v.headers ?? {}) },
      body: v.body ?? spec.body,
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    if (res.ok) return undefined;
    return `${spec.method ?? "GET"} ${new URL(spec.url).pathname} answered ${res.status} ${text.slice(0, 100)}`;
  } catch (e) {
    return `${spec.method ?? "GET"} ${new URL(spec.url).pathname} failed: ${(e as Error).message.slice(0, 100)}`;
  }
}

export const notAvailable = (scenario: string, why: string): Row => ({ scenario, note: `not available: ${why}` });

/** Successful responses only: a 4xx/5xx answered fast is not throughput. */
export const goodRps = (r: LoadResult) => (r.total - r.non2xx) / r.seconds;

export function failureNote(r: LoadResult): string | undefined {
  const bad = r.non2xx + r.errors + r.timeouts;
  if (bad === 0) return undefined;
  return `${r.non2xx} non-2xx, ${r.errors} socket errors, ${r.timeouts} timeouts of ${r.total}`;
}

export interface ThroughputOptions {
  baseline?: Baseline;
  /** Minimum fraction of the baseline, when the issue sets one. */
  goal?: number;
  warm?: boolean;
  note?: string;
  /** Process whose RSS and CPU the row shows: chatgate unless null (upstream baselines). */
  watch?: number | null;
}

/** Probe, warm up, load, and turn the result into a table row. */
export async function throughput(b: Bench, scenario: string, spec: LoadSpec, o: ThroughputOptions = {}): Promise<{ row: Row; result?: LoadResult }> {
  const refused = await probe(spec);
  if (refused) return { row: notAvailable(scenario, refused) };
  b.log(`${scenario}…`);
  const full = { connections: b.connections, duration: b.duration, ...spec };
  const watch = o.watch === null ? undefined : (o.watch ?? b.pid);
  const base = o.baseline?.remeasure ? await o.baseline.remeasure() : o.baseline?.result;
  const result = o.warm === false ? await runLoad(full, watch) : await warmAndRun(full, watch);
  const rps = goodRps(result);
  const ratio = base ? rps / goodRps(base) : undefined;
  const baseUs = base ? cpuUsPerRequest(base) : undefined;
  const ownUs = cpuUsPerRequest(result);
  const costRatio = baseUs !== undefined && ownUs !== undefined ? baseUs / ownUs : undefined;
  const note =
    [
      base && o.baseline?.remeasure ? `${o.baseline.name} just before: ${Math.round(goodRps(base))} req/s` : undefined,
      costRatio === undefined ? undefined : `CPU-cost ratio ${Math.round(costRatio * 100)}%`,
      o.note,
      failureNote(result),
    ]
      .filter(Boolean)
      .join("; ") || undefined;
  const row: Row = {
    scenario,
    rps,
    p50: result.p50,
    p99: result.p99,
    ratio,
    baseline: o.baseline?.name,
    goal: o.goal === undefined ? undefined : `≥ ${Math.round(o.goal * 100)}%`,
    met: o.goal === undefined || ratio === undefined ? undefined : ratio >= o.goal,
    rssMiB: result.rssPeak,
    cpu: result.cpuCores,
    cpuUs: ownUs,
    note,
  };
  return { row, result };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const json = { "content-type": "application/json" };
