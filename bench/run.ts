// `bun run bench`: build the binary, start the upstream doubles, the raw Bun.serve baseline and the
// Portkey peer, then run every row against chatgate on embedded PGlite and on Postgres (the local
// 127.0.0.1:5432/test when it answers, BENCH_DATABASE_URL otherwise; loopback only), seeding
// through the public API, then a data-growth section on each. Prints one table per database and a
// side-by-side summary, saves the run as JSON, and stops everything it started (also on Ctrl-C).
// BENCH_SHORT=1: 1 s loads, few rounds, growth ÷ 100 — checks the harness, figures mean nothing.
// BENCH_DURATION (s per load, default 3), BENCH_CONNECTIONS (50), BENCH_GROWTH (1 = 100k users).
import { execSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { pgliteTarget, postgresTarget, type Target } from "./chatgate-target";
import { benchDatabaseUrl } from "./database-url";
import { generator, warmAndRun } from "./load";
import { baseEnv, freePort, killAllNow, spawnTracked, stopAll, waitReady, type Started } from "./procs";
import { cpuUsPerRequest, renderComparison, renderTable, type Row } from "./report";
import { runTarget, type Plan, type TargetResult } from "./run-target";

const REPO = join(import.meta.dir, "..");
const BUN = process.execPath;
const SHORT = process.env.BENCH_SHORT === "1";
const DURATION = Number(process.env.BENCH_DURATION ?? (SHORT ? 1 : 3));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const GROWTH = Number(process.env.BENCH_GROWTH ?? (SHORT ? 0.01 : 1));
const PLAN: Plan = {
  duration: DURATION,
  connections: CONNECTIONS,
  coldStarts: SHORT ? 1 : 3,
  sse: SHORT ? { rounds: 10, concurrency: 5, each: 2, slowRounds: 2, slowEach: 1 } : { rounds: 60, concurrency: 10, each: 6, slowRounds: 2, slowEach: 1 },
  growth: { users: Math.round(100_000 * GROWTH), keys: Math.round(200_000 * GROWTH), sessions: Math.round(200_000 * GROWTH) },
  growthSamples: SHORT ? 10 : 100,
};
const t0 = performance.now();
const log = (msg: string) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${msg}\n`);
const secret = () => Buffer.from(crypto.getRandomValues(new Uint8Array(36))).toString("base64url");

let tmp: string | undefined;
const cleanup = async () => {
  await stopAll();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
};
process.on("SIGINT", () => {
  log("interrupted: stopping everything started");
  void cleanup().finally(() => process.exit(130));
});
process.on("exit", killAllNow);

async function build(): Promise<number> {
  log("building dist/chatgate (bun run build)…");
  const started = performance.now();
  const p = spawnTracked("build", [BUN, "run", "build"], baseEnv({}), REPO);
  const code = await p.proc.exited;
  await p.drained;
  if (code !== 0) throw new Error(`bun run build failed (${code}):\n${p.output().slice(-2000)}`);
  return performance.now() - started;
}

async function firstLine(p: Started, timeoutMs = 15_000): Promise<string> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    const line = p
      .stdout()
      .split("\n")
      .find((l) => l.trim().startsWith("{"));
    if (line) return line;
    if (p.proc.exitCode !== null) break;
    await Bun.sleep(20);
  }
  throw new Error(`${p.name} printed nothing usable:\n${p.output().slice(-2000)}`);
}

async function startPortkey(): Promise<{ url?: string; note?: string }> {
  const port = await freePort();
  const entry = join(REPO, "node_modules/@portkey-ai/gateway/build/start-server.js");
  const p = spawnTracked("portkey", ["node", entry, `--port=${port}`, "--headless"], baseEnv({ NODE_ENV: "production" }), REPO);
  try {
    await waitReady(`http://127.0.0.1:${port}/`, p, 20_000);
    return { url: `http://127.0.0.1:${port}` };
  } catch (e) {
    await p.stop();
    return { note: `Portkey gateway did not start: ${(e as Error).message.split("\n")[0]}` };
  }
}

function machine() {
  const c = cpus();
  let commit = "unknown";
  try {
    commit = execSync("git rev-parse --short HEAD", { cwd: REPO }).toString().trim();
  } catch {
    // not a git checkout
  }
  return { cores: availableParallelism(), cpu: c[0]?.model ?? "unknown", memGiB: Math.round(totalmem() / 2 ** 30), kernel: release(), bun: Bun.version, commit };
}

async function main() {
  const started = new Date();
  const loadStart = loadavg();
  const buildMs = await build();
  tmp = mkdtempSync(join(tmpdir(), "chatgate-bench-"));
  const flowiseKey = secret();
  const flows = { 0: crypto.randomUUID(), 5: crypto.randomUUID() };

  log("starting the Flowise and OpenAI doubles, raw Bun.serve, Portkey…");
  const doubles = spawnTracked(
    "doubles",
    [
      BUN,
      join(import.meta.dir, "doubles-server.ts"),
      JSON.stringify({
        apiKey: flowiseKey,
        flows: [
          { id: flows[0], delayMs: 0 },
          { id: flows[5], delayMs: 5 },
        ],
      }),
    ],
    baseEnv({}),
    REPO,
  );
  const upstream = JSON.parse(await firstLine(doubles)) as { flowise: string; openai: string };
  const rawPort = await freePort();
  const raw = spawnTracked("raw Bun.serve", [BUN, join(import.meta.dir, "baseline-raw-bun.ts"), String(rawPort)], baseEnv({}), REPO);
  await waitReady(`http://127.0.0.1:${rawPort}/`, raw);
  const portkey = await startPortkey();

  log("baseline: raw Bun.serve…");
  const rawUrl = `http://127.0.0.1:${rawPort}/`;
  const rotating = Array.from({ length: 16 }, (_, i) => ({
    headers: { "content-type": "application/json", authorization: `Bearer bench-${i}` },
    body: JSON.stringify({ customer_id: i + 1 }),
  }));
  const rawStaticLoad = () => warmAndRun({ url: rawUrl, connections: CONNECTIONS, duration: DURATION }, raw.proc.pid);
  const rawScriptedLoad = () => warmAndRun({ url: rawUrl, method: "POST", variants: rotating, connections: CONNECTIONS, duration: DURATION }, raw.proc.pid);
  const rawStatic = await rawStaticLoad();
  const rawScripted = await rawScriptedLoad();
  const baselineRows: Row[] = [
    {
      scenario: "raw Bun.serve, fixed JSON (baseline)",
      rps: rawStatic.total / rawStatic.seconds,
      p50: rawStatic.p50,
      p99: rawStatic.p99,
      rssMiB: rawStatic.rssPeak,
      cpu: rawStatic.cpuCores,
      cpuUs: cpuUsPerRequest(rawStatic),
      note: "machine ceiling; its own RSS and CPU",
    },
    {
      scenario: "raw Bun.serve, 16 rotating requests (baseline)",
      rps: rawScripted.total / rawScripted.seconds,
      p50: rawScripted.p50,
      p99: rawScripted.p99,
      rssMiB: rawScripted.rssPeak,
      cpu: rawScripted.cpuCores,
      cpuUs: cpuUsPerRequest(rawScripted),
      note: "ceiling for rows that rotate credentials",
    },
  ];

  const admin = { email: "admin@bench.local", password: secret() };
  const env = baseEnv({
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    JWT_SECRET: secret(),
    FLOWISE_URL: upstream.flowise,
    FLOWISE_API_KEY: flowiseKey,
    STREAM_API_KEY: "bench-stream-key",
    STREAM_API_SECRET: secret(),
    STREAM_TOKEN_RATE: "100000",
    MESSAGE_TRANSPORT: "none",
    SHUTDOWN_GRACE: "1",
    LOGIN_MAX_FAILURES: "10000",
    MAX_STREAMS_PER_USER: "1000",
  });
  const shared = {
    binary: join(REPO, "dist/chatgate"),
    cwd: tmp,
    env,
    admin,
    flows,
    log,
    raw: { static: { name: "raw", result: rawStatic, remeasure: rawStaticLoad }, scripted: { name: "raw rotating", result: rawScripted, remeasure: rawScriptedLoad } },
    upstream: { flowise: upstream.flowise, flowiseKey, openai: upstream.openai, portkey: portkey.url, portkeyNote: portkey.note },
  };

  const pg = await benchDatabaseUrl();
  const targets: Target[] = [pgliteTarget(tmp)];
  let postgresNote = "";
  if (pg.url) {
    try {
      targets.push(await postgresTarget(pg.url, pg.source));
    } catch (e) {
      postgresNote = `Postgres: not measured (could not create a bench database: ${(e as Error).message.split("\n")[0]})`;
    }
  } else postgresNote = `Postgres: not measured (${pg.why})`;
  const results: TargetResult[] = [];
  try {
    for (const t of targets) results.push(await runTarget(t, shared, PLAN));
  } finally {
    for (const t of targets) await t.dispose().catch((e) => log(`could not drop ${t.describe}: ${(e as Error).message}`));
  }
  await cleanup();

  const m = machine();
  const header = [
    `chatgate bench ${started.toISOString()} — ${m.cores} cores (${m.cpu}), ${m.memGiB} GiB, Linux ${m.kernel}, Bun ${m.bun}, commit ${m.commit}${SHORT ? " — SHORT RUN (BENCH_SHORT=1): figures mean nothing" : ""}`,
    `databases: ${results.map((r) => r.describe).join("; ")}${postgresNote ? `; ${postgresNote}` : ""}`,
    `load generator: ${generator}, ${CONNECTIONS} connections, ${DURATION} s per load after a 1 s warm-up; LOG_LEVEL=warn (no per-request access log)`,
    `ratio: 2xx req/s ÷ the baseline's req/s (raw Bun.serve re-measured just before the row); CPU µs/req: chatgate CPU time per request; SSE rows: p50/p99 are ADDED time to first event vs the upstream read directly`,
    `load average at start ${loadStart.map((x) => x.toFixed(2)).join(" ")}, at end ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}; build ${(buildMs / 1000).toFixed(1)} s`,
    ...results.flatMap((r) => r.startup.map((l) => `${r.label}: ${l}`)),
  ];
  const tables = [`baselines\n\n${renderTable(baselineRows)}`, ...results.map((r) => `${r.label}\n\n${renderTable(r.rows)}`), `side by side\n\n${renderComparison(results)}`];
  process.stdout.write(`\n${header.join("\n")}\n\n${tables.join("\n\n")}\n`);
  if (portkey.note) process.stdout.write(`\nPortkey: ${portkey.note}\n`);

  const dir = join(import.meta.dir, "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${started.toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        started: started.toISOString(),
        seconds: Math.round((performance.now() - t0) / 1000),
        short: SHORT,
        machine: m,
        generator,
        connections: CONNECTIONS,
        durationSec: DURATION,
        loadavg: { start: loadStart, end: loadavg() },
        buildMs,
        plan: PLAN,
        portkeyNote: portkey.note,
        baselineRows,
        results,
        header,
      },
      null,
      2,
    ),
  );
  log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s; results in ${file}`);
}

main().catch(async (e) => {
  log(`failed: ${(e as Error).stack ?? e}`);
  await cleanup();
  process.exit(1);
});
