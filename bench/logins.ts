// Logins per second: password logins through the whole app (routing, throttle counters, one
// argon2id verify, refresh row insert, two JWTs) on an in-memory PGlite. Run pinned to one core:
//   taskset -c 0 ./node_modules/.bin/bun bench/logins.ts [seconds=10] [concurrency=4]
import { createApp, createContext, stopContext } from "../src/app";
import { loadConfig } from "../src/config";
import { openDatabase } from "../src/db/client";
import { migrate } from "../src/db/migrate";
import { createLogger } from "../src/http/logger";
import { createUser } from "../src/identity/users";

const seconds = Number(process.argv[2] ?? 10);
const concurrency = Number(process.argv[3] ?? 4);
const database = await openDatabase({ dataDir: "memory://" });
await migrate(database.db);
const config = loadConfig({ JWT_SECRET: "bench-secret-that-is-at-least-32-bytes!!", LOGIN_MAX_FAILURES: "10000" });
const ctx = await createContext(config, database, createLogger("error"));
const app = createApp(ctx);
await createUser(ctx.db, { email: "bench@example.test", password: "bench-password-1" });
const body = JSON.stringify({ username: "bench@example.test", password: "bench-password-1" });

async function once(): Promise<void> {
  const res = await app.handle(new Request("http://localhost/api/v1/chat/authenticate", { method: "POST", headers: { "content-type": "application/json" }, body }));
  if (res.status !== 200) throw new Error(`login answered ${res.status}`);
  await res.arrayBuffer();
}

async function measure(label: string, fn: () => Promise<void>): Promise<void> {
  await fn(); // warm-up
  let done = 0;
  const cpu0 = process.cpuUsage();
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await fn();
        done++;
      }
    }),
  );
  // CPU seconds of every thread of the process: on a shared machine, done per CPU-second is the
  // figure that says what one whole core sustains.
  const cpu = process.cpuUsage(cpu0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  console.log(
    `${label}: ${(done / seconds).toFixed(1)}/s wall, ${(done / cpuSec).toFixed(1)} per CPU-second ` +
      `(${done} in ${seconds}s, ${cpuSec.toFixed(1)} CPU-s, concurrency ${concurrency})`,
  );
}

const hash = await Bun.password.hash("bench-password-1", { algorithm: "argon2id", memoryCost: 19456, timeCost: 2 });
await measure("argon2id verify alone", async () => {
  await Bun.password.verify("bench-password-1", hash);
});
await measure("POST /api/v1/chat/authenticate", once);
await stopContext(ctx);
await database.close();
