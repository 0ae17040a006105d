// Admin lists at table size: a chatgate process on a database seeded in SQL with 1k users / 2k
// keys, then grown to 100k users / 200k keys (BENCH_USERS / BENCH_KEYS), answering pages of every
// admin list. Prints p50/p99 per list and size, and the server's RSS after each phase.
//   ./node_modules/.bin/bun bench/admin-lists.ts                      # embedded PGlite
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test ./node_modules/.bin/bun bench/admin-lists.ts
// With Postgres a database of its own is created and dropped. Everything stays on loopback.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { sql } from "drizzle-orm";
import { openDatabase, type Database } from "../src/db/client";
import { migrate } from "../src/db/migrate";
import { createUser } from "../src/identity/users";

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const KEYS = Number(process.env.BENCH_KEYS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const ADMIN = { email: "bench-admin@example.test", password: "bench admin password 123" };
const root = join(import.meta.dir, "..");
const pgUrl = process.env.BENCH_DATABASE_URL;
if (pgUrl && !["127.0.0.1", "localhost"].includes(new URL(pgUrl).hostname)) throw new Error("loopback only");

async function seed(database: Database, fromUser: number, toUser: number, fromKey: number, toKey: number): Promise<void> {
  const db = database.db;
  await db.execute(
    sql.raw(`insert into users (id, email, name, created_at)
    select 'bulk-' || i, 'bulk' || i || '@example.test', 'Bulk ' || i, now() + i * interval '1 millisecond'
    from generate_series(${fromUser}, ${toUser}) i`),
  );
  await db.execute(
    sql.raw(`insert into api_keys (id, user_id, name, level, environment, key_hash, start)
    select 'key-' || i, 'bulk-' || (1 + i % ${toUser}), 'key ' || i, 'read', 'live', md5(i::text), 'sk_live_' || i
    from generate_series(${fromKey}, ${toKey}) i`),
  );
  await db.execute(
    sql.raw(`insert into api_tokens (id, user_id, name, created_by)
    select 'tok-' || i, 'bulk-' || (1 + i % ${toUser}), 'token ' || i, 'bulk-1' from generate_series(${fromUser}, ${toUser}) i`),
  );
  await db.execute(sql.raw(`insert into chatflow_access (chatflow_id, user_id) select 'bench-flow', 'bulk-' || i from generate_series(${fromUser}, ${toUser}) i`));
  await db
    .execute(
      sql.raw(`insert into credit_ledger (user_id, delta, kind, reason)
    select 'bulk-1', 1, 'grant', 'bench' from generate_series(${fromUser}, ${toUser}) i`),
    )
    .catch((e) => console.warn(`ledger seed skipped: ${e.message}`));
}

async function open(): Promise<{ database: Database; env: Record<string, string>; cleanup(): Promise<void> }> {
  if (pgUrl) {
    const name = `chatgate_bench_${Date.now()}`;
    const admin = postgres(pgUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database "${name}"`);
    const url = new URL(pgUrl);
    url.pathname = `/${name}`;
    const database = await openDatabase({ databaseUrl: url.toString(), dataDir: "" });
    return {
      database,
      env: { DATABASE_URL: url.toString() },
      async cleanup() {
        await admin.unsafe(`drop database if exists "${name}" with (force)`);
        await admin.end();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), "chatgate-bench-lists-"));
  return { database: await openDatabase({ dataDir: dir }), env: { DATA_DIR: dir }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

async function startServer(env: Record<string, string>) {
  const proc = Bun.spawn([process.execPath, "src/index.ts"], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? "",
      HOST: "127.0.0.1",
      PORT: "0",
      LOG_LEVEL: "warn",
      JWT_SECRET: "bench-secret-that-is-at-least-32-bytes-long",
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      ...env,
    },
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let out = "";
  let m: RegExpExecArray | null = null;
  while (!(m = /listening on (http:\/\/\S+)/.exec(out))) {
    const r = await reader.read();
    if (r.done) throw new Error(`server exited: ${out}`);
    out += new TextDecoder().decode(r.value);
  }
  void (async () => {
    while (!(await reader.read()).done);
  })();
  return { base: m[1]!, proc };
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function measure(base: string, token: string, users: number, keys: number) {
  // A cursor three quarters of the way down the keys, from the page that ends there.
  const mark = await fetch(`${base}/api/auth/api-keys?limit=1&offset=${Math.floor(keys * 0.75)}`, { headers: { authorization: `Bearer ${token}` } });
  await mark.arrayBuffer();
  const deep = mark.headers.get("x-next-cursor") ?? "";
  const lists: [string, string][] = [
    ["users, first page", "/api/auth/users"],
    ["users, last page", `/api/auth/users?offset=${users}`],
    ["API keys, first page", "/api/auth/api-keys"],
    ["API keys, last page by offset", `/api/auth/api-keys?offset=${keys - 50}`],
    ["API keys, deep page by cursor", `/api/auth/api-keys?after=${deep}`],
    ["one user's keys", "/api/auth/api-keys?user_id=bulk-7"],
    ["admin API tokens", "/api/admin/tokens"],
    ["chatflow grants", "/api/admin/chatflows/bench-flow/users"],
    ["chatflows", "/api/admin/chatflows"],
    ["ledger", "/api/admin/users/bulk-1/credits/ledger"],
  ];
  const rows: { list: string; p50: number; p99: number; max: number }[] = [];
  for (const [name, path] of lists) {
    const ms: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      ms.push(performance.now() - t0);
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    }
    rows.push({ list: name, p50: +pct(ms, 50).toFixed(1), p99: +pct(ms, 99).toFixed(1), max: +Math.max(...ms).toFixed(1) });
  }
  // Four concurrent callers of the biggest lists (what stalled /healthz before).
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 4 }, () => fetch(`${base}/api/auth/api-keys`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.arrayBuffer())));
  const healthStart = performance.now();
  await (await fetch(`${base}/healthz`)).arrayBuffer();
  rows.push({ list: "4 concurrent key lists, then /healthz", p50: +(healthStart - t0).toFixed(1), p99: +(performance.now() - healthStart).toFixed(1), max: 0 });
  return rows;
}

const target = await open();
let server: Awaited<ReturnType<typeof startServer>> | undefined;
try {
  // PGlite's data dir belongs to one process: the bench seeds it with the server stopped.
  let database: Database | undefined = target.database;
  const reopen = async () => (database ??= await openDatabase({ dataDir: target.env.DATA_DIR! }));
  await migrate(database.db);
  await database.db.execute(sql`insert into chatflows (id, name) values ('bench-flow', 'bench')`);
  // The bootstrap admin is only made on an empty users table.
  await createUser(database.db, { email: ADMIN.email, password: ADMIN.password, name: "Bench admin", role: "admin" });
  const phases = [
    { users: 1000, keys: 2000 },
    { users: USERS, keys: KEYS },
  ];
  const results: unknown[] = [];
  let done = { users: 0, keys: 0 };
  for (const phase of phases) {
    if (server) server.proc.kill(), await server.proc.exited, (server = undefined);
    const db = await reopen();
    const t0 = performance.now();
    await seed(db, done.users + 1, phase.users, done.keys + 1, phase.keys);
    console.log(`seeded ${phase.users} users / ${phase.keys} keys in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    done = phase;
    if (!pgUrl) await db.close(), (database = undefined);
    server = await startServer(target.env);
    const login = await fetch(`${server.base}/api/v1/chat/authenticate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: ADMIN.email, password: ADMIN.password }),
    });
    const token = ((await login.json()) as { access_token: string }).access_token;
    const before = rssMb(server.proc.pid);
    const rows = await measure(server.base, token, phase.users, phase.keys);
    const after = rssMb(server.proc.pid);
    results.push({ phase, rssBeforeMb: +before.toFixed(0), rssAfterMb: +after.toFixed(0), rows });
    console.log(
      `\n${phase.users} users / ${phase.keys} keys on ${pgUrl ? "Postgres" : "PGlite"}: server RSS ${before.toFixed(0)} → ${after.toFixed(0)} MB over ${ROUNDS} requests per list`,
    );
    console.table(rows);
  }
  console.log(JSON.stringify(results));
} finally {
  if (server) server.proc.kill(), await server.proc.exited;
  await target.database.close().catch(() => {});
  await target.cleanup();
}
