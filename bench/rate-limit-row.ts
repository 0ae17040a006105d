// `bun bench/rate-limit-row.ts`: only the rate-limit row, against the built binary on a fresh
// PGlite (run `bun run build` first). BENCH_SHORT=1 for 1 s loads; BENCH_CONNECTIONS (50).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBinary } from "./chatgate-target";
import { baseEnv, freePort, killAllNow, stopAll } from "./procs";
import { renderTable, type Row } from "./report";
import { rateLimitedValidate } from "./scenarios/rate-limits";
import { seed } from "./seed";

const REPO = join(import.meta.dir, "..");
const SHORT = process.env.BENCH_SHORT === "1";
const secret = () => Buffer.from(crypto.getRandomValues(new Uint8Array(36))).toString("base64url");
process.on("exit", killAllNow);

const tmp = mkdtempSync(join(tmpdir(), "chatgate-bench-rl-"));
try {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const admin = { email: "admin@bench.local", password: secret() };
  const env = baseEnv({
    HOST: "127.0.0.1",
    PORT: String(port),
    LOG_LEVEL: "warn",
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    JWT_SECRET: secret(),
    DATA_DIR: join(tmp, "data"),
  });
  const { p } = await startBinary(join(REPO, "dist/chatgate"), env, tmp, base);
  // The first admin may still be being hashed right after /readyz on a fresh database (run.ts
  // starts the binary once before seeding): ask again for a few seconds.
  let seeded = await seed({ base, adminEmail: admin.email, adminPassword: admin.password, users: 1, chatflows: {}, credits: 0, contacts: 0 });
  for (let i = 0; i < 20 && !seeded.adminToken; i++) {
    await Bun.sleep(500);
    seeded = await seed({ base, adminEmail: admin.email, adminPassword: admin.password, users: 1, chatflows: {}, credits: 0, contacts: 0 });
  }
  const rows: Row[] = [];
  const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);
  for (const n of seeded.notes) log(`seed: ${n}`);
  await rateLimitedValidate({
    base,
    pid: p.proc.pid,
    seed: seeded,
    connections: Number(process.env.BENCH_CONNECTIONS ?? 50),
    duration: SHORT ? 1 : 3,
    raw: {},
    upstream: { flowise: "", flowiseKey: "", openai: "" },
    rows,
    log,
  });
  process.stdout.write(`${renderTable(rows)}\n`);
} finally {
  await stopAll();
  rmSync(tmp, { recursive: true, force: true });
}
