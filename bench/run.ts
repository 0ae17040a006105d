// `bun run bench`: build the binary, start it on loopback with a throw-away database next to the
// upstream doubles, the raw Bun.serve baseline and the Portkey peer, seed through the public API,
// run every scenario with a real load generator, print one table, save the run as JSON, and stop
// everything it started (also on Ctrl-C). Loopback only; every load is bounded in time.
import { execSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { generator, warmAndRun } from "./load";
import { baseEnv, freePort, killAllNow, rssMiB, spawnTracked, stopAll, waitReady, type Started } from "./procs";
import { cpuUsPerRequest, renderTable, type Row } from "./report";
import { authScenarios } from "./scenarios/auth";
import type { Bench } from "./scenarios/common";
import { sendBulk } from "./scenarios/messages";
import { predictJson, predictSse } from "./scenarios/predict";
import { seed } from "./seed";

const REPO = join(import.meta.dir, "..");
const BUN = process.execPath;
const DURATION = Number(process.env.BENCH_DURATION ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SEED_USERS = 16;
const CONTACTS = 10;
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
    const line = p.stdout().split("\n").find((l) => l.trim().startsWith("{"));
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
  const doubles = spawnTracked("doubles", [BUN, join(import.meta.dir, "doubles-server.ts"), JSON.stringify({ apiKey: flowiseKey, flows: [{ id: flows[0], delayMs: 0 }, { id: flows[5], delayMs: 5 }] })], baseEnv({}), REPO);
  const upstream = JSON.parse(await firstLine(doubles)) as { flowise: string; openai: string };
  const rawPort = await freePort();
  const raw = spawnTracked("raw Bun.serve", [BUN, join(import.meta.dir, "baseline-raw-bun.ts"), String(rawPort)], baseEnv({}), REPO);
  await waitReady(`http://127.0.0.1:${rawPort}/`, raw);
  const portkey = await startPortkey();

  const port = await freePort();
  const admin = { email: "admin@bench.local", password: secret() };
  const env = baseEnv({
    HOST: "127.0.0.1", PORT: String(port), DATA_DIR: join(tmp, "data"), LOG_LEVEL: "warn",
    ADMIN_EMAIL: admin.email, ADMIN_PASSWORD: admin.password, JWT_SECRET: secret(),
    FLOWISE_URL: upstream.flowise, FLOWISE_API_KEY: flowiseKey,
    STREAM_API_KEY: "bench-stream-key", STREAM_API_SECRET: secret(), STREAM_TOKEN_RATE: "100000",
    MESSAGE_TRANSPORT: "none", SHUTDOWN_GRACE: "1", LOGIN_MAX_FAILURES: "10000", MAX_STREAMS_PER_USER: "1000",
  });
  const base = `http://127.0.0.1:${port}`;
  const binary = join(REPO, "dist/chatgate");
  const startBinary = async () => {
    const p = spawnTracked("chatgate", [binary, "serve"], env, tmp);
    return { p, ms: await waitReady(`${base}/readyz`, p) };
  };
  log("chatgate: first start (creates and migrates the data dir), then 3 cold starts on it…");
  const first = await startBinary();
  await first.p.stop();
  const cold: number[] = [];
  let app: Started | undefined;
  for (let i = 0; i < 3; i++) {
    const s = await startBinary();
    cold.push(s.ms);
    if (i < 2) await s.p.stop();
    else app = s.p;
  }
  const pid = app!.proc.pid;
  await Bun.sleep(1000);
  const idleRss = rssMiB(pid);

  log("seeding through the public API…");
  const seeded = await seed({ base, adminEmail: admin.email, adminPassword: admin.password, users: SEED_USERS, chatflows: flows, credits: 10_000_000, contacts: CONTACTS });
  for (const n of seeded.notes) log(`seed: ${n}`);
  const seededRss = rssMiB(pid);

  const rows: Row[] = [];
  const b: Bench = { base, pid, seed: seeded, connections: CONNECTIONS, duration: DURATION, raw: {}, upstream: { flowise: upstream.flowise, flowiseKey, openai: upstream.openai, portkey: portkey.url, portkeyNote: portkey.note }, rows, log };

  log("baseline: raw Bun.serve…");
  const rawUrl = `http://127.0.0.1:${rawPort}/`;
  const rotating = Array.from({ length: SEED_USERS }, (_, i) => ({ headers: { "content-type": "application/json", authorization: `Bearer bench-${i}` }, body: JSON.stringify({ customer_id: i + 1 }) }));
  const rawStaticLoad = () => warmAndRun({ url: rawUrl, connections: CONNECTIONS, duration: DURATION }, raw.proc.pid);
  const rawScriptedLoad = () => warmAndRun({ url: rawUrl, method: "POST", variants: rotating, connections: CONNECTIONS, duration: DURATION }, raw.proc.pid);
  const rawStatic = await rawStaticLoad();
  const rawScripted = await rawScriptedLoad();
  b.raw = {
    static: { name: "raw", result: rawStatic, remeasure: rawStaticLoad },
    scripted: { name: "raw rotating", result: rawScripted, remeasure: rawScriptedLoad },
  };
  rows.push({ scenario: "raw Bun.serve, fixed JSON (baseline)", rps: rawStatic.total / rawStatic.seconds, p50: rawStatic.p50, p99: rawStatic.p99, rssMiB: rawStatic.rssPeak, cpu: rawStatic.cpuCores, cpuUs: cpuUsPerRequest(rawStatic), note: "machine ceiling; its own RSS and CPU" });
  rows.push({ scenario: `raw Bun.serve, ${SEED_USERS} rotating requests (baseline)`, rps: rawScripted.total / rawScripted.seconds, p50: rawScripted.p50, p99: rawScripted.p99, rssMiB: rawScripted.rssPeak, cpu: rawScripted.cpuCores, cpuUs: cpuUsPerRequest(rawScripted), note: "ceiling for rows that rotate credentials" });

  await authScenarios(b);
  await predictJson(b);
  await sendBulk(b);
  await predictSse(b, 0, { rounds: 150, concurrency: 10, each: 15 });
  await predictSse(b, 5, { rounds: 12, concurrency: 10, each: 3 });
  const finalRss = rssMiB(pid);
  await cleanup();

  const median = [...cold].sort((a, b2) => a - b2)[1]!;
  const m = machine();
  const header = [
    `chatgate bench ${started.toISOString()} — ${m.cores} cores (${m.cpu}), ${m.memGiB} GiB, Linux ${m.kernel}, Bun ${m.bun}, commit ${m.commit}`,
    `load generator: ${generator}, ${CONNECTIONS} connections, ${DURATION} s per load after a 1 s warm-up; chatgate on PGlite in a temp dir, LOG_LEVEL=warn (no per-request access log)`,
    `ratio: 2xx req/s ÷ the baseline's req/s (raw Bun.serve re-measured just before the row); CPU: cores chatgate used; CPU µs/req: chatgate CPU time per request; SSE rows: p50/p99 are ADDED time to first event vs the upstream read directly`,
    `load average at start ${loadStart.map((x) => x.toFixed(2)).join(" ")}, at end ${loadavg().map((x) => x.toFixed(2)).join(" ")}`,
    `build ${(buildMs / 1000).toFixed(1)} s; first start (new data dir, migrations) ${first.ms.toFixed(0)} ms; cold start on the existing data dir ${median.toFixed(0)} ms median of ${cold.map((x) => x.toFixed(0)).join("/")} ms (spawn → /readyz 200)`,
    `chatgate RSS: idle ${idleRss?.toFixed(0)} MiB, after seeding ${seededRss?.toFixed(0)} MiB, at the end ${finalRss?.toFixed(0)} MiB`,
  ];
  const table = renderTable(rows);
  process.stdout.write(`\n${header.join("\n")}\n\n${table}\n`);
  if (seeded.notes.length) process.stdout.write(`\nseeding notes:\n${seeded.notes.map((n) => `- ${n}`).join("\n")}\n`);
  if (portkey.note) process.stdout.write(`\nPortkey: ${portkey.note}\n`);

  const dir = join(import.meta.dir, "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${started.toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify({
    started: started.toISOString(), seconds: Math.round((performance.now() - t0) / 1000), machine: m, generator, connections: CONNECTIONS, durationSec: DURATION,
    loadavg: { start: loadStart, end: loadavg() },
    startup: { buildMs, firstStartMs: first.ms, coldStartMs: cold, idleRssMiB: idleRss, seededRssMiB: seededRss, finalRssMiB: finalRss },
    seedNotes: seeded.notes, portkeyNote: portkey.note, rows, header, table,
  }, null, 2));
  log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s; results in ${file}`);
}

main().catch(async (e) => {
  log(`failed: ${(e as Error).stack ?? e}`);
  await cleanup();
  process.exit(1);
});
