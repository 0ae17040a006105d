// Process and runtime metrics from prom-client (the maintained Prometheus client): CPU, memory,
// open file descriptors, event-loop lag, heap. One registry per process, shared by every app the
// process builds (tests build many), since these describe the process, not an app.
import { heapStats } from "bun:jsc";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import pkg from "../../package.json";

let registry: Registry | undefined;

function processRegistry(): Registry {
  if (registry) return registry;
  const r = new Registry();
  collectDefaultMetrics({ register: r, eventLoopMonitoringPrecision: 20 });
  // Gauges named like counters (promtool refuses the `_total` suffix), and Node internals that
  // Bun reports as 0 anyway.
  for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) {
    r.removeSingleMetric(name);
  }
  new Gauge({
    name: "chatgate_build_info",
    help: "Version of chatgate and of the Bun runtime running it (always 1)",
    labelNames: ["version", "runtime", "runtime_version"],
    registers: [r],
  }).set({ version: pkg.version, runtime: "bun", runtime_version: Bun.version }, 1);
  // Bun emits no 'gc' performance entries, so prom-client's nodejs_gc_duration_seconds stays
  // empty; JavaScriptCore's own heap figures show what the collector keeps up with.
  new Gauge({
    name: "bun_jsc_heap_size_bytes",
    help: "JavaScriptCore heap in use after the last collection",
    registers: [r],
    collect() {
      this.set(heapStats().heapSize);
    },
  });
  new Gauge({
    name: "bun_jsc_heap_capacity_bytes",
    help: "JavaScriptCore heap capacity",
    registers: [r],
    collect() {
      this.set(heapStats().heapCapacity);
    },
  });
  new Gauge({
    name: "bun_jsc_heap_objects",
    help: "Objects on the JavaScriptCore heap",
    registers: [r],
    collect() {
      this.set(heapStats().objectCount);
    },
  });
  registry = r;
  return r;
}

export interface PoolStats {
  max: number;
  inUse: number;
  waiting: number;
}

/** Adds process metrics and, when the database reports them, its pool's figures. */
export function registerRuntimeMetrics(
  metrics: { addSource(r: () => Promise<string>): void; gauge(name: string, help: string, collect: (g: { set(l: Record<string, string>, v: number): void }) => void): unknown },
  pool?: () => PoolStats,
): void {
  const r = processRegistry();
  metrics.addSource(async () => `${await r.metrics()}\n`);
  if (!pool) return;
  metrics.gauge("chatgate_db_pool_connections_max", "Connections the database pool may open", (g) => g.set({}, pool().max));
  metrics.gauge("chatgate_db_pool_in_use", "Queries and transactions holding a pool connection now", (g) => g.set({}, pool().inUse));
  metrics.gauge("chatgate_db_pool_waiting", "Queries and transactions waiting for a pool connection", (g) => g.set({}, pool().waiting));
}
