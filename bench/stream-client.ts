// A small timing client over fetch: time to the first SSE event (first `data:` line) or first
// body byte, and to the end of the body, for one request. The same client reads the gateway and
// the upstream directly, so its own overhead cancels out in the "added" figures.

export interface Timed {
  status: number;
  /** ms from sending to the first event (SSE) or first body byte (JSON). */
  ttfb: number;
  /** ms from sending to the end of the body. */
  total: number;
  /** SSE frames seen (blank-line separated), 0 for JSON. */
  frames: number;
  bytes: number;
}

export interface Target {
  name: string;
  url: string;
  init: () => RequestInit;
}

export async function timeOne(t: Target): Promise<Timed> {
  const t0 = performance.now();
  const res = await fetch(t.url, { ...t.init(), signal: AbortSignal.timeout(30_000) });
  const sse = (res.headers.get("content-type") ?? "").includes("text/event-stream");
  const decoder = new TextDecoder();
  let ttfb = -1;
  let frames = 0;
  let bytes = 0;
  let tail = "";
  const reader = res.body?.getReader();
  for (;;) {
    const next = await reader?.read();
    if (!next || next.done) break;
    const chunk = next.value;
    bytes += chunk.byteLength;
    const text = tail + decoder.decode(chunk, { stream: true });
    if (ttfb < 0 && (!sse || text.includes("data:"))) ttfb = performance.now() - t0;
    if (sse) {
      frames += text.split("\n\n").length - 1;
      tail = text.slice(text.lastIndexOf("\n\n") + 2).slice(-64);
    }
  }
  const total = performance.now() - t0;
  return { status: res.status, ttfb: ttfb < 0 ? total : ttfb, total, frames, bytes };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export interface Series {
  name: string;
  samples: Timed[];
  failures: string[];
}

/**
 * `rounds` requests per target, the targets interleaved request by request (A B C D A B C D…),
 * so drift in machine load hits every target alike.
 */
export async function interleaved(targets: Target[], rounds: number): Promise<Series[]> {
  const out = targets.map((t) => ({ name: t.name, samples: [] as Timed[], failures: [] as string[] }));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < targets.length; i++) await record(targets[i]!, out[i]!);
  }
  return out;
}

/** `concurrency` clients each sending `each` requests back to back, one target at a time. */
export async function concurrent(targets: Target[], concurrency: number, each: number): Promise<Series[]> {
  const out: Series[] = [];
  for (const t of targets) {
    const s: Series = { name: t.name, samples: [], failures: [] };
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = 0; i < each; i++) await record(t, s);
      }),
    );
    out.push(s);
  }
  return out;
}

async function record(t: Target, s: Series) {
  try {
    const r = await timeOne(t);
    if (r.status >= 200 && r.status < 300) s.samples.push(r);
    else s.failures.push(`status ${r.status}`);
  } catch (e) {
    s.failures.push((e as Error).message.slice(0, 100));
  }
}
