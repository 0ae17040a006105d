// /metrics beyond request counters: the process (CPU, memory, fds, event loop, heap), the build,
// the outbox by status, the database pool, open SSE streams; and promtool accepts all of it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import pkg from "../../package.json";
import { post, seedChatflow, serve, setBalance, startDouble, type Served } from "../chat/helpers";
import type { FlowiseDouble } from "../doubles/flowise";
import { seedUser, testDatabaseUrl } from "../helpers";
import { createContact } from "../messaging/helpers";

const PROMTOOL = "/usr/bin/promtool";
if (!existsSync(PROMTOOL)) console.warn(`[runtime-metrics.test] promtool check SKIPPED: no ${PROMTOOL} (apt-get install -y prometheus)`);

const FLOW = crypto.randomUUID();
let d: FlowiseDouble;
let s: Served;

beforeAll(async () => {
  d = await startDouble([FLOW], { heartbeatMs: 0 });
  s = await serve(d);
}, 30_000);
afterAll(async () => {
  await s.stop();
  await d.stop();
});

const scrape = async () => {
  const res = await fetch(`${s.base}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
};
const value = (text: string, series: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

/** Scrapes until `check` holds: the figures change when the server gets to it, not at once. */
async function until(check: (text: string) => boolean): Promise<string> {
  for (let i = 0; ; i++) {
    const text = await scrape();
    if (check(text)) return text;
    if (i > 2000) throw new Error(`metrics never matched:\n${text}`);
    await Bun.sleep(10);
  }
}

describe("/metrics", () => {
  test("process, runtime and build figures", async () => {
    const text = await scrape();
    for (const series of ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "nodejs_eventloop_lag_seconds", "bun_jsc_heap_size_bytes"]) {
      expect(`${series}: ${value(text, series) !== undefined}`).toBe(`${series}: true`);
    }
    expect(value(text, "process_resident_memory_bytes")).toBeGreaterThan(1_000_000);
    expect(value(text, "process_open_fds")).toBeGreaterThan(2);
    expect(text).toContain(`chatgate_build_info{version="${pkg.version}",runtime="bun",runtime_version="${Bun.version}"} 1`);
    expect(text).toContain("# TYPE nodejs_gc_duration_seconds histogram");
  });

  test("outbox depth by status, counted in the database", async () => {
    const alice = await seedUser(s.t);
    const before = value(await scrape(), 'chatgate_outbox_messages{status="queued"}')!;
    const contact = await createContact(s.t, alice.accessToken);
    for (let i = 0; i < 3; i++) {
      const res = await s.t.request("POST", "/api/messages/send-private", { token: alice.accessToken, body: { recipientId: contact.id, message: `hi ${i}` } });
      expect(res.status).toBe(200);
    }
    const text = await scrape();
    expect(value(text, 'chatgate_outbox_messages{status="queued"}')).toBe(before + 3);
    expect(value(text, 'chatgate_outbox_messages{status="failed"}')).toBe(0);
  });

  test("SSE streams open: one while an answer streams, none once the client left", async () => {
    const alice = await seedUser(s.t);
    await seedChatflow(s.t.ctx.db, FLOW, { cost: 1, grant: [alice.user.id] });
    await setBalance(s.t.ctx.db, alice.user.id, 10);
    await d.setFault({ kind: "slowDrip", ms: 60_000 }, FLOW);
    const client = new AbortController();
    const res = await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "hold", streaming: true }, alice.accessToken, {}, client.signal);
    expect(res.status).toBe(200);
    await until((t) => value(t, "chatgate_sse_streams_open") === 1);
    client.abort();
    await res.body?.cancel().catch(() => {});
    await until((t) => value(t, "chatgate_sse_streams_open") === 0);
    await d.setFault(null, FLOW);
  }, 60_000);

  test.if(!!testDatabaseUrl())("on Postgres: the pool's size, connections in use and waiters", async () => {
    const idle = await scrape();
    expect(value(idle, "chatgate_db_pool_connections_max")).toBeGreaterThan(0);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const tx = s.t.ctx.db.transaction(async (trx) => {
      await trx.execute("select 1" as never);
      await held;
    });
    await until((t) => value(t, "chatgate_db_pool_in_use")! >= 1);
    release();
    await tx;
    await until((t) => value(t, "chatgate_db_pool_in_use") === 0 && value(t, "chatgate_db_pool_waiting") === 0);
  });

  test.if(!testDatabaseUrl())("on PGlite (one in-process connection) there is no pool to report", async () => {
    expect(await scrape()).not.toContain("chatgate_db_pool_");
  });

  test.if(existsSync(PROMTOOL))("`promtool check metrics` accepts the whole exposition", async () => {
    const proc = Bun.spawn([PROMTOOL, "check", "metrics"], { stdin: new TextEncoder().encode(await scrape()), stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(`${code} ${out}${err}`).toBe("0 ");
  });
});
