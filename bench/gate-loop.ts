// The rate-limit gate alone in a loop (no HTTP): ns per admit() for a key with a quota of its
// own, against the same call for a key without one. `bun bench/gate-loop.ts [n=2000000]`
import { openDatabase } from "../src/db/client";
import { migrate } from "../src/db/migrate";
import { RateLimitGate } from "../src/rate-limits/gate";
import { QuotaLedger } from "../src/rate-limits/ledger";
import { PolicyStore } from "../src/rate-limits/policies";
import type { GateRequest, Principal } from "../src/kernel/principal";

const n = Number(process.argv[2] ?? 200_000);
const database = await openDatabase({ dataDir: "memory://" });
await migrate(database.db);
const db = database.db;
const policies = new PolicyStore(db);
await policies.set("key", "k_limited", { limit: 1_000_000_000, windowS: 60 });
const gate = new RateLimitGate({
  config: { rateLimitUser: undefined, rateLimitAddress: undefined, rateLimitPredictCost: 10, streamTokenRatePerMin: 100, trustProxy: false } as never,
  ledger: new QuotaLedger(db),
  policies,
  limited: { inc() {} } as never,
  notices: { refused() {} } as never,
});
const principal = (tokenId: string) => ({ kind: "apiKey", tokenId, level: "read", user: { id: "u_1" } }) as unknown as Principal;
const request = new Request("http://localhost/api/auth/validate");
const reqOf = (tokenId: string): GateRequest => ({ request, route: "/api/auth/validate", principal: principal(tokenId), headers: {} });
const plain = reqOf("k_plain");
const limited = reqOf("k_limited");
for (const r of [plain, limited]) for (let i = 0; i < 10; i++) await gate.admit(r);

let slow = 0;
async function loop(r: GateRequest): Promise<number> {
  const t0 = performance.now();
  let sink = 0;
  for (let i = 0; i < n; i++) {
    const p = gate.admit(r);
    // A lease (or a quota read) on the database: rare in steady state, awaited like a request would.
    if (p instanceof Promise) slow++, await p;
    sink += r.headers.RateLimit?.length ?? 0;
  }
  if (sink < 0) console.log(sink);
  return ((performance.now() - t0) * 1e6) / n;
}
for (let k = 0; k < 5; k++) {
  const a = await loop(plain);
  const b = await loop(limited);
  console.log(JSON.stringify({ nsPerAdmit: { withoutLimit: +a.toFixed(0), withLimit: +b.toFixed(0) }, awaited: slow }));
  slow = 0;
}
await database.close();
