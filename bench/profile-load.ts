// The client side of bench/profile.ts, in a process of its own so its CPU is not in the profile:
// sends `count` requests cycling through the given ones, `inFlight` at a time; prints a JSON line.
const spec = JSON.parse(process.argv[2]!) as { requests: { url: string; method: string; headers: Record<string, string>; body?: string }[]; count: number; inFlight: number };
let next = 0;
let failed = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: spec.inFlight }, async () => {
    while (next < spec.count) {
      const r = spec.requests[next++ % spec.requests.length]!;
      const res = await fetch(r.url, { method: r.method, headers: r.headers, body: r.body });
      await res.arrayBuffer();
      if (!res.ok) failed++;
    }
  }),
);
process.stdout.write(`${JSON.stringify({ failed, ms: performance.now() - t0 })}\n`);
export {};
