// Data growth: the database seeded in SQL with many users, API keys and sessions while chatgate is
// stopped (PGlite allows one process at a time), then chatgate started again: start-up time, RSS,
// and p50/p99 of the requests whose cost could grow with the data (key validation, login, a
// user's sessions list, every admin list). Requests are sequential, so p50/p99 are latencies of
// one request on an otherwise idle server.
import { sql } from "drizzle-orm";
import { openDatabase } from "../src/db/client";
import type { Row } from "./report";
import { percentile } from "./stream-client";
import type { SeedUser } from "./seed";

export interface GrowthCounts {
  users: number;
  keys: number;
  sessions: number;
}

/** Where chatgate's database is: a PGlite data dir (chatgate stopped) or a Postgres URL. */
export type Location = { dataDir: string } | { databaseUrl: string };

/** Seeds in a handful of statements; `owner` (a bench user) gets 1 in 50 of the sessions. */
export async function seedGrowth(where: Location, n: GrowthCounts, owner: string): Promise<number> {
  const t0 = performance.now();
  const database = await openDatabase("databaseUrl" in where ? { databaseUrl: where.databaseUrl, dataDir: "" } : { dataDir: where.dataDir });
  try {
    const db = database.db;
    await db.execute(sql`
      insert into users (id, email, name, password_hash, created_at)
      select 'usr_growth_' || g, 'growth' || g || '@bench.local', 'Growth ' || g, null, now() - make_interval(secs => g)
      from generate_series(1, ${n.users}::int) g`);
    await db.execute(sql`
      insert into api_keys (id, user_id, name, level, environment, key_hash, start, created_at)
      select 'key_growth_' || g, 'usr_growth_' || (1 + g % ${n.users}::int), 'growth ' || g, 'write', 'live',
             encode(sha256(('growth-key-' || g)::bytea), 'hex'), 'sk_live_' || left(md5(g::text), 4), now() - make_interval(secs => g)
      from generate_series(1, ${n.keys}::int) g`);
    await db.execute(sql`
      insert into chat_sessions (id, user_id, chatflow_id, topic, created_at, updated_at)
      select gen_random_uuid()::text, case when g % 50 = 0 then ${owner} else 'usr_growth_' || (1 + g % ${n.users}::int) end,
             null, 'growth topic ' || g, now() - make_interval(secs => g), now() - make_interval(secs => g)
      from generate_series(1, ${n.sessions}::int) g`);
    await db.execute(sql`analyze`);
  } finally {
    await database.close();
  }
  return performance.now() - t0;
}

async function timed(n: number, send: () => Promise<Response>): Promise<{ p50: number; p99: number; statuses: Set<number> }> {
  const lat: number[] = [];
  const statuses = new Set<number>();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await send();
    await res.arrayBuffer();
    lat.push(performance.now() - t0);
    statuses.add(res.status);
  }
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), statuses };
}

/**
 * Every admin list in the OpenAPI document: GET routes of the admin families whose only path
 * parameter is a user's or a chatflow's id (filled with the bench user's and chatflow's).
 */
async function adminLists(base: string): Promise<string[]> {
  const doc = (await (await fetch(`${base}/swagger/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const admin = /^\/api\/(admin\/|auth\/users\/?$|auth\/api-keys\/?$|messages\/?$|contacts\/?$|templates\/?$)/;
  return Object.entries(doc.paths)
    .filter(([p, ops]) => ops.get && admin.test(p))
    .map(([p]) => p)
    .filter((p) => !/\{[^}]+\}/.test(p.replace(/^\/api\/admin\/(users|chatflows)\/\{id\}/, "")));
}

/** Samples one request sequentially: `n` times, or fewer when it is slow (at least 3, about `budgetMs` in all). */
async function timedWithin(n: number, budgetMs: number, send: () => Promise<Response>) {
  const t0 = performance.now();
  await (await send()).arrayBuffer();
  const one = performance.now() - t0;
  return timed(Math.max(3, Math.min(n, Math.floor(budgetMs / Math.max(one, 0.1)))), send);
}

export interface GrowthProbe {
  base: string;
  adminToken: string;
  user: SeedUser;
  samples: number;
  chatflowId?: string;
}

export async function measureGrowth(g: GrowthProbe, label: string): Promise<Row[]> {
  const rows: Row[] = [];
  const auth = (t: string) => ({ authorization: `Bearer ${t}` });
  const row = (scenario: string, r: { p50: number; p99: number; statuses: Set<number> }, note = "") =>
    rows.push({ scenario: `${label}: ${scenario}`, p50: r.p50, p99: r.p99, note: [`status ${[...r.statuses].join("/")}`, note].filter(Boolean).join("; ") });
  const { user } = g;
  if (user.apiKey) row("GET /api/auth/validate", await timedWithin(g.samples, 5000, () => fetch(`${g.base}/api/auth/validate`, { headers: { "x-api-key": user.apiKey! } })));
  const form = new URLSearchParams({ username: user.email, password: user.password }).toString();
  row(
    "POST /api/auth/token (login)",
    await timedWithin(Math.max(3, Math.floor(g.samples / 20)), 2000, () =>
      fetch(`${g.base}/api/auth/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form }),
    ),
  );
  if (user.accessToken)
    row(
      "GET /api/v1/chat/sessions (a user with 1 in 50 sessions)",
      await timedWithin(g.samples, 5000, () => fetch(`${g.base}/api/v1/chat/sessions`, { headers: auth(user.accessToken!) })),
    );
  for (const path of await adminLists(g.base)) {
    const url = path.replace("/api/admin/users/{id}", `/api/admin/users/${user.id}`).replace("/api/admin/chatflows/{id}", `/api/admin/chatflows/${g.chatflowId ?? "none"}`);
    row(`GET ${path} (admin)`, await timedWithin(Math.max(3, Math.floor(g.samples / 4)), 3000, () => fetch(`${g.base}${url}`, { headers: auth(g.adminToken) })));
  }
  return rows;
}
