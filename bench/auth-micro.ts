// CPU per request of the authenticated routes that touch no database once warm (validate with
// an API key, me with an access token, chat-token with a write key), in process: no sockets, so
// no scheduler noise from a load generator. Main-thread CPU (process.threadCpuUsage) per request,
// routes alternated in rounds, medians printed.
//   bun bench/auth-micro.ts [rounds=15] [per=2000] [tree...]
// With tree paths (checkouts of this repo, e.g. `git archive` of an older commit with its
// node_modules linked), each tree's app is built in this same process and the trees alternate
// within every round: an A/B where both sides share the machine's noise at the same moment.
import { join } from "node:path";

const rounds = Number(process.argv[2] ?? 15);
const per = Number(process.argv[3] ?? 2000);
const trees = process.argv.length > 4 ? process.argv.slice(4) : [join(import.meta.dir, "..")];
const ROUTES = ["validate", "me", "chat-token"] as const;
type Route = (typeof ROUTES)[number];

interface Side {
  tree: string;
  send: Record<Route, () => Promise<Response>>;
  close(): Promise<void>;
}

async function build(tree: string): Promise<Side> {
  const { makeApp, seedUser } = await import(join(tree, "test/helpers.ts"));
  const { createKey } = await import(join(tree, "test/keys/helpers.ts"));
  const { seedChatflow } = await import(join(tree, "test/chat/helpers.ts"));
  const t = await makeApp({ LOG_LEVEL: "warn" });
  const owner = await seedUser(t);
  const brain = crypto.randomUUID();
  await seedChatflow(t.ctx.db, brain, { grant: [owner.user.id] });
  const key = await createKey(t, { owner, level: "write" });
  const base = "http://localhost";
  const send: Side["send"] = {
    validate: () => t.app.handle(new Request(`${base}/api/auth/validate`, { headers: { "x-api-key": key.key } })),
    me: () => t.app.handle(new Request(`${base}/api/auth/me`, { headers: { authorization: `Bearer ${owner.accessToken}` } })),
    "chat-token": () => t.app.handle(new Request(`${base}/api-key/chat-token?brain_id=${brain}`, { method: "POST", headers: { "x-api-key": key.key } })),
  };
  return { tree, send, close: () => t.close() };
}

async function round(send: () => Promise<Response>): Promise<number> {
  const c0 = process.threadCpuUsage();
  for (let i = 0; i < per; i += 8) {
    const batch = await Promise.all([send(), send(), send(), send(), send(), send(), send(), send()]);
    for (const r of batch) {
      if (r.status !== 200) throw new Error(`status ${r.status}: ${await r.text()}`);
      await r.arrayBuffer();
    }
  }
  const c = process.threadCpuUsage(c0);
  return (c.user + c.system) / per;
}

const sides: Side[] = [];
for (const tree of trees) sides.push(await build(tree));
for (let i = 0; i < 3; i++) for (const s of sides) for (const r of ROUTES) await round(s.send[r]);
const samples = sides.map(() => Object.fromEntries(ROUTES.map((r) => [r, [] as number[]])) as Record<Route, number[]>);
for (let i = 0; i < rounds; i++) {
  // Which side and route go first rotates, so none always pays for another's garbage.
  for (let k = 0; k < ROUTES.length; k++) {
    const route = ROUTES[(i + k) % ROUTES.length]!;
    for (let j = 0; j < sides.length; j++) {
      const s = (i + j) % sides.length;
      samples[s]![route].push(await round(sides[s]!.send[route]));
    }
  }
}
const med = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!;
console.log(
  JSON.stringify({
    rounds,
    per,
    cpuUsPerRequest: sides.map((s, i) => ({ tree: s.tree, ...Object.fromEntries(ROUTES.map((r) => [r, +med(samples[i]![r]).toFixed(2)])) })),
  }),
);
for (const s of sides) await s.close();
