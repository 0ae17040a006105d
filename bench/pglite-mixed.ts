// `validate` latency alone and while PGlite-heavy requests run, on the embedded database.
//
//   ./node_modules/.bin/bun bench/pglite-mixed.ts [rounds=1500] [load workers=8]
//   BENCH_SRC=/path/to/another/checkout ./node_modules/.bin/bun bench/pglite-mixed.ts   # "before"
//
// Starts `bun run <src>/src/index.ts` on a fresh PGlite data dir (loopback, free port), makes an
// admin and an API key, then times `GET /api/auth/validate` (a cached key: no database) one request
// at a time: alone, then while `load workers` loops create API keys, read a balance and grant credits
// (a transaction) as fast as they can. Prints p50/p99 and the loaded/unloaded ratio. Ratios only:
// the machine is shared.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, spawnTracked, stopAll } from "./procs";

const ROUNDS = Number(process.argv[2] ?? 1500);
const WORKERS = Number(process.argv[3] ?? 8);
const WINDOW_MS = 4000;
const SRC = resolve(process.env.BENCH_SRC ?? join(import.meta.dir, ".."));
const ADMIN = { email: "bench-admin@example.test", password: "bench-password-1234" };

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "chatgate-bench-pg-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    PATH: process.env.PATH ?? "",
    HOST: "127.0.0.1",
    PORT: String(port),
    DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    JWT_SECRET: "bench-secret-that-is-at-least-32-bytes-long",
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
  };
  const server = spawnTracked("chatgate", [process.execPath, "run", join(SRC, "src/index.ts"), "serve"], env, SRC);
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 600) throw new Error(`chatgate did not get ready:\n${server.output()}`);
      await Bun.sleep(100);
    }
    const call = async (method: string, path: string, body?: unknown, token?: string) => {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return res.json() as Promise<any>;
    };
    const login = await call("POST", "/api/v1/chat/authenticate", { username: ADMIN.email, password: ADMIN.password });
    const token: string = login.access_token;
    const me = await call("GET", "/api/auth/me", undefined, token);
    const userId: string = me.id;
    const { key } = await call("POST", "/api/auth/api-keys", { name: "bench", user_id: userId, level: "read" }, token);

    /** At least `n` requests and at least `minMs`, so the load's rate covers a real window. */
    const timeValidate = async (n: number, minMs = 0): Promise<number[]> => {
      const out: number[] = [];
      const until = performance.now() + minMs;
      for (let i = 0; i < n || performance.now() < until; i++) {
        const t0 = performance.now();
        const res = await fetch(`${base}/api/auth/validate`, { headers: { "x-api-key": key } });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`validate: ${res.status}`);
        out.push(performance.now() - t0);
      }
      return out.sort((a, b) => a - b);
    };

    await timeValidate(200); // warm-up
    const alone = await timeValidate(ROUNDS);

    let stop = false;
    let loadDone = 0;
    const loop = async (w: number) => {
      for (let i = 0; !stop; i++) {
        await call("POST", "/api/auth/api-keys", { name: `load ${w}-${i}`, user_id: userId, level: "read" }, token);
        await call("GET", `/api/admin/users/${userId}/credits`, undefined, token);
        await call("POST", `/api/admin/users/${userId}/credits`, { amount: 1, reason: "bench" }, token);
        loadDone += 3;
      }
    };
    const loads = Array.from({ length: WORKERS }, (_, w) => loop(w));
    await Bun.sleep(500); // let the load reach its pace
    const rate = async (during: () => Promise<unknown>) => {
      const t0 = performance.now();
      const from = loadDone;
      const out = await during();
      return { out, perSec: ((loadDone - from) / (performance.now() - t0)) * 1000 };
    };
    const loadAlone = await rate(() => Bun.sleep(WINDOW_MS));
    const mixed = await rate(() => timeValidate(ROUNDS, WINDOW_MS));
    const loaded = mixed.out as number[];
    stop = true;
    await Promise.all(loads);

    const row = (name: string, s: number[]) => `${name.padEnd(28)} p50 ${pct(s, 50).toFixed(2).padStart(7)} ms   p99 ${pct(s, 99).toFixed(2).padStart(7)} ms`;
    console.log(`source: ${SRC}   load average: ${(await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ")}`);
    console.log(row("validate alone", alone));
    console.log(row(`validate + ${WORKERS} DB loops`, loaded));
    console.log(`loaded/alone: p50 ${(pct(loaded, 50) / pct(alone, 50)).toFixed(2)}x   p99 ${(pct(loaded, 99) / pct(alone, 99)).toFixed(2)}x`);
    console.log(`DB-heavy requests/s: ${loadAlone.perSec.toFixed(0)} alone, ${mixed.perSec.toFixed(0)} while validate ran (${loaded.length} validates)`);
  } finally {
    await stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
