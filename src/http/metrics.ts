// A small Prometheus text registry: counters and one latency histogram, no dependency.

type Labels = Record<string, string>;

const render = (labels: Labels) =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/["\\\n]/g, "_")}"`)
    .join(",");

// Every request counts under a label set that repeats (route × method × status), and sorting,
// escaping and joining it each time cost about a microsecond per request (bench/README.md).
// Rendered keys are cached by a length-prefixed form of the labels, which no two distinct label
// sets share; bounded so an unbounded label (a caller's mistake) cannot grow memory.
const rendered = new Map<string, string>();
const MAX_CACHED_KEYS = 10_000;

// Callers that reuse one label object per series (the request counter does) skip even that; a
// label object must therefore not be mutated after it was counted.
const byIdentity = new WeakMap<Labels, string>();

const key = (labels: Labels) => {
  const known = byIdentity.get(labels);
  if (known !== undefined) return known;
  const out = keyOf(labels);
  byIdentity.set(labels, out);
  return out;
};

const keyOf = (labels: Labels) => {
  let raw = "";
  for (const k in labels) {
    const v = String(labels[k]);
    raw += `${k.length}:${k}${v.length}:${v}`;
  }
  let out = rendered.get(raw);
  if (out === undefined) {
    out = render(labels);
    if (rendered.size >= MAX_CACHED_KEYS) rendered.clear();
    rendered.set(raw, out);
  }
  return out;
};

export class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(key(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ""} ${v}`);
    return lines.join("\n");
  }
}

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Histogram {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  observe(labels: Labels, seconds: number): void {
    const k = key(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) s.counts[i]!++;
    s.sum += seconds;
    s.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const pre = k ? `${k},` : "";
      for (const [i, b] of BUCKETS.entries()) lines.push(`${this.name}_bucket{${pre}le="${b}"} ${s.counts[i]}`);
      lines.push(`${this.name}_bucket{${pre}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${k ? `{${k}}` : ""} ${s.sum}`);
      lines.push(`${this.name}_count${k ? `{${k}}` : ""} ${s.count}`);
    }
    return lines.join("\n");
  }
}

/** A value that goes up and down; `collect` (if given) refreshes it at each scrape. */
export class Gauge {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly collect?: (g: Gauge) => Promise<void> | void,
  ) {}
  set(labels: Labels, value: number): void {
    this.values.set(keyOf(labels), value);
  }
  inc(labels: Labels = {}, by = 1): void {
    const k = keyOf(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  dec(labels: Labels = {}, by = 1): void {
    this.inc(labels, -by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(keyOf(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ""} ${v}`);
    return lines.join("\n");
  }
}

export class Metrics {
  private readonly all = new Map<string, Counter | Histogram | Gauge>();
  /** Appended to every scrape by `renderAll` (process metrics, shared by every app in a process). */
  private readonly extra: (() => Promise<string>)[] = [];
  readonly requests = this.counter("chatgate_http_requests_total", "HTTP requests by route, method and status");
  readonly latency = this.histogram("chatgate_http_request_duration_seconds", "HTTP request latency");

  counter(name: string, help: string): Counter {
    const existing = this.all.get(name);
    if (existing instanceof Counter) return existing;
    const c = new Counter(name, help);
    this.all.set(name, c);
    return c;
  }
  histogram(name: string, help: string): Histogram {
    const existing = this.all.get(name);
    if (existing instanceof Histogram) return existing;
    const h = new Histogram(name, help);
    this.all.set(name, h);
    return h;
  }
  gauge(name: string, help: string, collect?: (g: Gauge) => Promise<void> | void): Gauge {
    const existing = this.all.get(name);
    if (existing instanceof Gauge) return existing;
    const g = new Gauge(name, help, collect);
    this.all.set(name, g);
    return g;
  }
  addSource(render: () => Promise<string>): void {
    this.extra.push(render);
  }
  render(): string {
    return `${[...this.all.values()].map((m) => m.render()).join("\n")}\n`;
  }
  /**
   * What /metrics serves: refreshes the gauges that read their value at scrape time (a failing
   * one keeps its last value: a slow database must not take /metrics down), then everything.
   */
  async renderAll(): Promise<string> {
    const gauges = [...this.all.values()].filter((m): m is Gauge => m instanceof Gauge && m.collect !== undefined);
    await Promise.all(gauges.map(async (g) => g.collect!(g)).map((p) => p.catch(() => {})));
    const extra = await Promise.all(this.extra.map((r) => r().catch(() => "")));
    return this.render() + extra.filter(Boolean).join("");
  }
}
