// Load generation with a real generator in its own process: wrk when it is installed (C, one
// thread, light enough not to be the bottleneck on 2 cores), otherwise autocannon from npm under
// Node. One generator serves every row of a run, so ratios compare like with like.
// BENCH_LOADGEN=autocannon forces autocannon.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { baseEnv, cpuSeconds as cpuSecondsOf, sampleRss, spawnTracked } from "./procs";

export interface LoadSpec {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Sent round-robin on every connection (e.g. one credential per seeded user). */
  variants?: { headers?: Record<string, string>; body?: string }[];
  connections?: number;
  duration?: number;
}

export interface LoadResult {
  total: number;
  rps: number;
  /** Latency percentiles, ms. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Responses with a status of 400 or more (wrk) / outside 2xx (autocannon). */
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  /** Peak RSS of the watched process during the run, MiB. */
  rssPeak?: number;
  /** CPU seconds the watched process used per wall second (1.0 = one core busy). */
  cpuCores?: number;
  /** CPU seconds the watched process used during the run. */
  cpuSeconds?: number;
}

export type Generator = "wrk" | "autocannon";

export const generator: Generator = process.env.BENCH_LOADGEN !== "autocannon" && Bun.which("wrk") ? "wrk" : "autocannon";

export async function runLoad(spec: LoadSpec, watchPid?: number): Promise<LoadResult> {
  const url = new URL(spec.url);
  if (url.hostname !== "127.0.0.1") throw new Error("load targets 127.0.0.1 only");
  const stopSampling = watchPid === undefined ? undefined : sampleRss(watchPid);
  const cpu0 = watchPid === undefined ? undefined : cpuSecondsOf(watchPid);
  const t0 = performance.now();
  const result = generator === "wrk" ? await runWrk(spec) : await runAutocannon(spec);
  const wall = (performance.now() - t0) / 1000;
  const cpu1 = watchPid === undefined ? undefined : cpuSecondsOf(watchPid);
  const rssPeak = stopSampling?.();
  const cpuSeconds = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined;
  const cpuCores = cpuSeconds === undefined ? undefined : cpuSeconds / wall;
  return { ...result, rps: result.total / result.seconds, rssPeak, cpuCores, cpuSeconds };
}

/** A short unrecorded run first (JIT, caches, connection pools), then the measured one. */
export async function warmAndRun(spec: LoadSpec, watchPid?: number, warmupSec = 1): Promise<LoadResult> {
  await runLoad({ ...spec, duration: warmupSec }, watchPid);
  return runLoad(spec, watchPid);
}

type Raw = Omit<LoadResult, "rps" | "rssPeak" | "cpuCores" | "cpuSeconds">;

async function collect(name: string, cmd: string[]): Promise<string> {
  const p = spawnTracked(name, cmd, baseEnv({}), import.meta.dir);
  const code = await p.proc.exited;
  await p.drained;
  await p.stop();
  if (code !== 0) throw new Error(`${name} exited with ${code}: ${p.output().slice(-1000)}`);
  return p.stdout();
}

async function runAutocannon(spec: LoadSpec): Promise<Raw> {
  const out = await collect("autocannon", ["node", join(import.meta.dir, "load-worker.mjs"), JSON.stringify(spec)]);
  return JSON.parse(out) as Raw;
}

const lua = (s: string) => JSON.stringify(s); // a JSON string literal is a valid Lua string literal here (ASCII only)

async function runWrk(spec: LoadSpec): Promise<Raw> {
  const url = new URL(spec.url);
  const variants = spec.variants ?? [{}];
  const table = variants
    .map((v) => {
      const headers = { ...(spec.headers ?? {}), ...(v.headers ?? {}) };
      const h = Object.entries(headers)
        .map(([k, val]) => `[${lua(k)}]=${lua(val)}`)
        .join(",");
      const body = v.body ?? spec.body;
      return `{${lua(spec.method ?? "GET")},${lua(url.pathname + url.search)},{${h}},${body === undefined ? "nil" : lua(body)}}`;
    })
    .join(",\n");
  const script = `
local variants = {${table}}
local reqs = {}
local i = 0
init = function(args)
  for n, v in ipairs(variants) do reqs[n] = wrk.format(v[1], v[2], v[3], v[4]) end
end
request = function()
  i = i % #reqs + 1
  return reqs[i]
end
done = function(s, latency, requests)
  local e = s.errors
  io.write(string.format('{"total":%d,"seconds":%.6f,"p50":%.4f,"p90":%.4f,"p99":%.4f,"max":%.4f,"non2xx":%d,"errors":%d,"timeouts":%d}\\n',
    s.requests, s.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, e.status, e.connect + e.read + e.write, e.timeout))
end
`;
  const dir = mkdtempSync(join(tmpdir(), "chatgate-wrk-"));
  try {
    const file = join(dir, "load.lua");
    writeFileSync(file, script);
    const args = ["wrk", "-t1", `-c${spec.connections ?? 50}`, `-d${spec.duration ?? 6}s`, "--timeout", "10s", "-s", file, spec.url];
    const out = await collect("wrk", args);
    const line = out.split("\n").find((l) => l.startsWith('{"total"'));
    if (!line) throw new Error(`wrk printed no summary: ${out.slice(-500)}`);
    return JSON.parse(line) as Raw;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
