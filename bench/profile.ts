// Where chatgate's CPU goes, per request: chatgate runs in this process (the same app the tests
// build, on embedded PGlite in memory or, with TEST_DATABASE_URL, a fresh Postgres schema), the
// Flowise double and the client each in a process of their own, and Bun's sampling profiler
// (node:inspector) records only the measured phase: no start-up, no seeding. Prints CPU per
// request (this process, /proc) and self time by area and by function; writes the .cpuprofile
// (Chrome DevTools / speedscope) to bench/results/.
//   ./node_modules/.bin/bun bench/profile.ts [predict|stream-token|validate|validate-limited|me|chat-token|login] [requests=4000]
// validate-limited: the same key check with a key that has a rate limit of its own (never reached).
// Only the HTTP thread is sampled: PGlite's worker thread and Postgres are not in the profile,
// but PGlite's worker CPU is in the CPU-per-request figure (same process).
import { readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join, relative } from "node:path";
import { seedChatflow, setBalance } from "../test/chat/helpers";
import { makeApp, seedUser } from "../test/helpers";
import { createKey } from "../test/keys/helpers";
import { cpuSeconds, spawnTracked, stopAll } from "./procs";

const scenario = process.argv[2] ?? "predict";
const count = Number(process.argv[3] ?? 4000);
const REPO = join(import.meta.dir, "..");
const BUN = process.execPath;
const FLOWISE_KEY = "profile-flowise-key-0123456789";
const flow = crypto.randomUUID();
const database = process.env.TEST_DATABASE_URL ? "postgres" : "pglite";

async function firstJsonLine(p: ReturnType<typeof spawnTracked>): Promise<Record<string, unknown>> {
  for (;;) {
    const line = p
      .stdout()
      .split("\n")
      .find((l) => l.startsWith("{"));
    if (line) return JSON.parse(line);
    if (p.proc.exitCode !== null) throw new Error(`${p.name} exited: ${p.output().slice(-2000)}`);
    await Bun.sleep(20);
  }
}

const doubles = spawnTracked(
  "doubles",
  [BUN, join(import.meta.dir, "doubles-server.ts"), JSON.stringify({ apiKey: FLOWISE_KEY, flows: [{ id: flow, delayMs: 0 }] })],
  { PATH: process.env.PATH ?? "" },
  REPO,
);
try {
  const upstream = (await firstJsonLine(doubles)) as { flowise: string };
  const t = await makeApp({
    LOGIN_MAX_FAILURES: "10000",
    FLOWISE_URL: upstream.flowise,
    FLOWISE_API_KEY: FLOWISE_KEY,
    LOG_LEVEL: "warn",
    MAX_STREAMS_PER_USER: "1000",
    STREAM_API_KEY: "profile-stream-key",
    STREAM_API_SECRET: "profile-stream-secret-0123456789abcdef",
    STREAM_TOKEN_RATE: "100000",
  });
  t.app.listen({ port: 0, hostname: "127.0.0.1" });
  const base = `http://127.0.0.1:${t.app.server!.port}`;
  await seedChatflow(t.ctx.db, flow, { cost: 1 });
  const users = [];
  for (let i = 0; i < 16; i++) {
    const u = await seedUser(t);
    await seedChatflow(t.ctx.db, flow, { grant: [u.user.id] });
    await setBalance(t.ctx.db, u.user.id, count * 2);
    users.push(u);
  }
  const key = await createKey(t, {
    owner: users[0]!,
    level: "write",
    body: scenario === "validate-limited" ? { rate_limit: { limit: 1_000_000_000, window_s: 60 } } : {},
  });
  const json = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });
  const requests = users.map((u) => {
    switch (scenario) {
      case "predict":
        return { url: `${base}/api/v1/chat/predict`, method: "POST", headers: json(u.accessToken), body: JSON.stringify({ chatflow_id: flow, question: "profile?" }) };
      case "stream-token":
        return { url: `${base}/stream-chat/token`, method: "POST", headers: json(u.accessToken), body: JSON.stringify({ customer_id: u.user.customerId }) };
      case "validate":
      case "validate-limited":
        return { url: `${base}/api/auth/validate`, method: "GET", headers: { "x-api-key": key.key } };
      case "me":
        return { url: `${base}/api/auth/me`, method: "GET", headers: json(u.accessToken) };
      case "login":
        return {
          url: `${base}/api/auth/token`,
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ username: u.user.email, password: u.password }).toString(),
        };
      case "chat-token":
        return { url: `${base}/api-key/chat-token?brain_id=${flow}`, method: "POST", headers: { "x-api-key": key.key } };
      default:
        throw new Error(`unknown scenario ${scenario}`);
    }
  });
  const load = async (n: number) => {
    const p = spawnTracked("client", [BUN, join(import.meta.dir, "profile-load.ts"), JSON.stringify({ requests, count: n, inFlight: 8 })], { PATH: process.env.PATH ?? "" }, REPO);
    await p.proc.exited;
    return (await firstJsonLine(p)) as { failed: number; ms: number };
  };
  await load(Math.min(scenario === "login" ? 50 : 1000, count)); // warm-up: JIT, caches, connections
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  const cpu0 = cpuSeconds(process.pid)!;
  const main0 = threadCpuSeconds();
  await session.post("Profiler.start");
  const r = await load(count);
  const { profile } = (await session.post("Profiler.stop")) as { profile: Profile };
  const cpuUs = ((cpuSeconds(process.pid)! - cpu0) * 1e6) / count;
  const mainUs = ((threadCpuSeconds() - main0) * 1e6) / count;
  const file = join(import.meta.dir, "results", `profile-${scenario}-${database}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  console.log(
    JSON.stringify({
      scenario,
      database,
      bun: Bun.version,
      requests: count,
      failed: r.failed,
      perSecond: Math.round(count / (r.ms / 1000)),
      cpuUsPerRequest: { process: Math.round(cpuUs), httpThread: Math.round(mainUs), otherThreads: Math.round(cpuUs - mainUs) },
      profile: relative(REPO, file),
    }),
  );
  summarise(profile, mainUs);
  await t.app.stop(true);
  await t.close();
} finally {
  await stopAll();
}

interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** CPU seconds of this process's main thread (the HTTP thread), from /proc. */
function threadCpuSeconds(): number {
  const stat = readFileSync(`/proc/${process.pid}/task/${process.pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/**
 * Self samples per area (a package, a src/ folder, native code) and per function. Samples are
 * taken while JavaScript runs (about one per ms here, whatever the interval asked), so each
 * share is turned into µs with the HTTP thread's measured CPU per request, not with time deltas.
 */
function summarise(p: Profile, mainUsPerRequest: number) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, number>();
  const area = new Map<string, number>();
  const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  for (const id of p.samples) {
    const f = byId.get(id)!.callFrame;
    const where = f.url ? relative(REPO, f.url.replace(/^file:\/\//, "")) : "";
    const parts = where.split("/");
    add(
      area,
      !where
        ? "(native: runtime, generated or builtin code)"
        : parts[0] === "node_modules"
          ? parts.slice(1, parts[1]!.startsWith("@") ? 3 : 2).join("/")
          : parts.slice(0, 2).join("/"),
    );
    add(fn, `${f.functionName || "(anonymous)"} ${where}${where ? `:${f.lineNumber + 1}` : ""}`);
  }
  const n = p.samples.length;
  const show = (m: Map<string, number>, top: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `  ${((v / n) * mainUsPerRequest).toFixed(1).padStart(7)} µs/req  ${((100 * v) / n).toFixed(1).padStart(5)}%  ${k}`)
      .join("\n");
  console.log(`${n} samples; HTTP thread ${mainUsPerRequest.toFixed(0)} µs CPU per request\nby area (self):\n${show(area, 14)}\nby function (self):\n${show(fn, 25)}`);
}
