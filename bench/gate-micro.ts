// The rate-limit gate's own cost, in process (no sockets, so no scheduler noise from the load
// generator): `validate` with a key without a limit and with one, alternated in rounds, CPU time
// per request of the main thread (process.threadCpuUsage: PGlite's worker and GC threads left out). `bun bench/gate-micro.ts [rounds=20] [per=4000]`
import { makeApp, seedUser } from "../test/helpers";
import { createKey } from "../test/keys/helpers";

const rounds = Number(process.argv[2] ?? 20);
const per = Number(process.argv[3] ?? 4000);
const t = await makeApp({ LOG_LEVEL: "warn" });
const owner = await seedUser(t);
const plain = await createKey(t, { owner, level: "read" });
// GATE_MICRO_SAME=1 compares the unlimited key with itself: the noise floor of this machine.
const limited = process.env.GATE_MICRO_SAME === "1" ? plain : await createKey(t, { owner, level: "read", body: { rate_limit: { limit: 1_000_000_000, window_s: 60 } } });

async function round(key: string): Promise<number> {
  const req = () => t.app.handle(new Request("http://localhost/api/auth/validate", { headers: { "x-api-key": key } }));
  const c0 = process.threadCpuUsage();
  for (let i = 0; i < per; i += 8) {
    const batch = await Promise.all([req(), req(), req(), req(), req(), req(), req(), req()]);
    for (const r of batch) {
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      await r.arrayBuffer();
    }
  }
  const c = process.threadCpuUsage(c0);
  return (c.user + c.system) / per;
}

for (let i = 0; i < 3; i++) await round(plain.key), await round(limited.key);
const a: number[] = [];
const b: number[] = [];
for (let i = 0; i < rounds; i++) {
  // Which goes first alternates, so neither always pays for the other's garbage.
  if (i % 2) {
    a.push(await round(plain.key));
    b.push(await round(limited.key));
  } else {
    b.push(await round(limited.key));
    a.push(await round(plain.key));
  }
}
const med = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!;
const r = await t.app.handle(new Request("http://localhost/api/auth/validate", { headers: { "x-api-key": limited.key } }));
console.log(
  JSON.stringify({
    cpuUsPerRequest: { withoutLimit: +med(a).toFixed(2), withLimit: +med(b).toFixed(2), extra: +(med(b) - med(a)).toFixed(2) },
    costRatio: +(med(a) / med(b)).toFixed(3),
    headers: { policy: r.headers.get("ratelimit-policy"), limit: r.headers.get("ratelimit") },
  }),
);
await t.close();
