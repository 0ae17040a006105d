// Runs one autocannon load under Node (its home runtime), in its own process so the load
// generator never shares an event loop with the harness. Input: one JSON object as argv[2];
// output: one JSON object on stdout. Plain .mjs because Node 20 does not run TypeScript.
import autocannon from "autocannon";

const spec = JSON.parse(process.argv[2]);

const url = new URL(spec.url);
if (url.hostname !== "127.0.0.1") {
  process.stdout.write(JSON.stringify({ error: "load targets 127.0.0.1 only" }));
  process.exit(2);
}

// Several variants (e.g. one token per seeded user) are sent round-robin on every connection.
const requests = (spec.variants ?? [{}]).map((v) => ({
  method: v.method ?? spec.method ?? "GET",
  path: url.pathname + url.search,
  headers: { ...(spec.headers ?? {}), ...(v.headers ?? {}) },
  body: v.body ?? spec.body,
}));

const result = await autocannon({
  url: spec.url,
  connections: spec.connections ?? 50,
  duration: spec.duration ?? 6,
  timeout: spec.timeoutSec ?? 10,
  requests,
});

const seconds = result.duration > 0 ? result.duration : (spec.duration ?? 6);
process.stdout.write(
  JSON.stringify({
    total: result.requests.total,
    rps: result.requests.total / seconds,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds,
  }),
);
