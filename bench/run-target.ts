// Every row of the bench against one chatgate target (PGlite or Postgres): start-up, seeding
// through the public API, the scenarios, then the data-growth section on the same database.
import { rssMiB } from "./procs";
import { startBinary, type Target } from "./chatgate-target";
import { measureGrowth, seedGrowth, type GrowthCounts } from "./growth";
import { freePort } from "./procs";
import type { Row } from "./report";
import { authScenarios } from "./scenarios/auth";
import type { Bench, Baseline } from "./scenarios/common";
import { sendBulk } from "./scenarios/messages";
import { mixedLoad } from "./scenarios/mixed";
import { predictJson, predictSse } from "./scenarios/predict";
import { rateLimitedValidate } from "./scenarios/rate-limits";
import { seed } from "./seed";

export interface Plan {
  duration: number;
  connections: number;
  coldStarts: number;
  sse: { rounds: number; concurrency: number; each: number; slowRounds: number; slowEach: number };
  growth: GrowthCounts;
  growthSamples: number;
}

export interface Shared {
  binary: string;
  cwd: string;
  env: Record<string, string>;
  admin: { email: string; password: string };
  flows: Record<number, string>;
  raw: Bench["raw"];
  upstream: Bench["upstream"];
  log(msg: string): void;
}

export interface TargetResult {
  label: string;
  describe: string;
  startup: string[];
  rows: Row[];
}

export async function runTarget(t: Target, s: Shared, plan: Plan): Promise<TargetResult> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = { ...s.env, ...t.env, PORT: String(port) };
  const start = () => startBinary(s.binary, env, s.cwd, base);
  const log = (m: string) => s.log(`[${t.label}] ${m}`);
  log(`first start (creates and migrates), then ${plan.coldStarts} cold start(s)…`);
  const first = await start();
  await first.p.stop();
  const cold: number[] = [];
  let app = first.p;
  for (let i = 0; i < plan.coldStarts; i++) {
    const st = await start();
    cold.push(st.ms);
    app = st.p;
    if (i < plan.coldStarts - 1) await st.p.stop();
  }
  let pid = app.proc.pid;
  await Bun.sleep(1000);
  const idleRss = rssMiB(pid);
  log("seeding through the public API…");
  const seeded = await seed({ base, adminEmail: s.admin.email, adminPassword: s.admin.password, users: 16, chatflows: s.flows, credits: 10_000_000, contacts: 10 });
  for (const n of seeded.notes) log(`seed: ${n}`);
  const rows: Row[] = [];
  const b: Bench = { base, pid, seed: seeded, connections: plan.connections, duration: plan.duration, raw: s.raw, upstream: s.upstream, rows, log };
  try {
    await authScenarios(b);
    await rateLimitedValidate(b);
    await predictJson(b);
    await sendBulk(b);
    await predictSse(b, 0, { rounds: plan.sse.rounds, concurrency: plan.sse.concurrency, each: plan.sse.each });
    await predictSse(b, 5, { rounds: plan.sse.slowRounds, concurrency: plan.sse.concurrency, each: plan.sse.slowEach });
    await mixedLoad(b);
  } catch (e) {
    rows.push({ scenario: "(the rest of this target)", note: `bench failed: ${(e as Error).message.split("\n")[0]}` });
  }
  const loadedRss = rssMiB(pid);
  const startup = [
    `first start (new database, migrations) ${first.ms.toFixed(0)} ms; cold start ${cold.map((x) => x.toFixed(0)).join("/")} ms (spawn → /readyz 200)`,
    `RSS: idle ${idleRss?.toFixed(0)} MiB, after the loads ${loadedRss?.toFixed(0)} MiB`,
  ];

  const [owner] = seeded.users;
  if (!owner || !seeded.adminToken) startup.push("data growth: not measured (seeding failed)");
  else {
    await app.stop();
    const g = plan.growth;
    log(`data growth: seeding ${g.users} users / ${g.keys} keys / ${g.sessions} sessions in SQL…`);
    const seedMs = await seedGrowth(t.location, g, owner.id);
    const grown = await start();
    app = grown.p;
    pid = app.proc.pid;
    await Bun.sleep(1000);
    const grownRss = rssMiB(pid);
    log("data growth: measuring…");
    rows.push(...(await measureGrowth({ base, adminToken: seeded.adminToken, user: owner, samples: plan.growthSamples, chatflowId: s.flows[0] }, `+${g.users / 1000}k users`)));
    startup.push(
      `data growth (+${g.users} users, +${g.keys} API keys, +${g.sessions} sessions, seeded in SQL in ${(seedMs / 1000).toFixed(1)} s): ` +
        `start-up ${grown.ms.toFixed(0)} ms, idle RSS ${grownRss?.toFixed(0)} MiB, after the requests ${rssMiB(pid)?.toFixed(0)} MiB`,
    );
  }
  await app.stop();
  return { label: t.label, describe: t.describe, startup, rows };
}

export type { Baseline };
