// Hot rows (issue 16): 50 concurrent predictions of ONE user (all on one balance row) against 50
// spread over 16 users, in-process over real loopback sockets against the Flowise double, on
// embedded PGlite and on Postgres. Also counts the statements each prediction sends before and
// after its upstream call (test/chat/statements.ts).
//   ./node_modules/.bin/bun bench/hot-row.ts [rounds=6]
// Postgres: BENCH_DATABASE_URL, else 127.0.0.1:5432/test when it answers (loopback only).
import { percentile } from "./stream-client";
import { bodyText, post, seedChatflow, serve, setBalance, startDouble } from "../test/chat/helpers";
import { recordStatements, split } from "../test/chat/statements";
import { seedUser, type SeededUser } from "../test/helpers";
import { benchDatabaseUrl } from "./database-url";

const rounds = Number(process.argv[2] ?? 6);
const CONCURRENT = 50;
const FLOW = crypto.randomUUID();

async function measure(label: string): Promise<string[]> {
  const d = await startDouble([FLOW]);
  const s = await serve(d, { MAX_STREAMS_PER_USER: "1000", LOG_LEVEL: "warn" });
  const out: string[] = [];
  try {
    await seedChatflow(s.t.ctx.db, FLOW, { cost: 1 });
    const users: SeededUser[] = [];
    for (let i = 0; i < 16; i++) {
      const u = await seedUser(s.t);
      await seedChatflow(s.t.ctx.db, FLOW, { grant: [u.user.id] });
      await setBalance(s.t.ctx.db, u.user.id, 1_000_000);
      users.push(u);
    }
    const one = (u: SeededUser) => async () => {
      const t0 = performance.now();
      const res = await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question: "hot row?" }, u.accessToken);
      await bodyText(res);
      if (res.status !== 200) throw new Error(`predict answered ${res.status}`);
      return performance.now() - t0;
    };
    // Warm-up: access caches, JIT, connections.
    await Promise.all(users.map((u) => one(u)()));
    const rec = recordStatements(s.t.ctx.db);
    await one(users[0]!)();
    const counted = split(rec.entries);
    rec.uninstall();
    out.push(`${label}: statements per JSON prediction: ${counted.before.length} before the upstream call, ${counted.after.length} after`);
    for (const [name, pick] of [
      ["1 user", () => users[0]!],
      ["16 users", (i: number) => users[i % 16]!],
    ] as const) {
      const lat: number[] = [];
      const t0 = performance.now();
      for (let r = 0; r < rounds; r++) lat.push(...(await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => one(pick(i))()))));
      const secs = (performance.now() - t0) / 1000;
      out.push(
        `${label}: ${CONCURRENT} concurrent, ${name}: ${(lat.length / secs).toFixed(0)} predictions/s, latency p50 ${percentile(lat, 50).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms (n=${lat.length})`,
      );
    }
  } finally {
    await s.stop();
    await d.stop();
  }
  return out;
}

const lines = [...(await measure("PGlite"))];
const url = await benchDatabaseUrl();
if (url.url) {
  process.env.TEST_DATABASE_URL = url.url;
  lines.push(...(await measure(`Postgres (${url.source})`)));
} else lines.push(`Postgres: not measured (${url.why})`);
console.log(lines.join("\n"));
process.exit(0);
