// Real chatgate processes (`bun src/index.ts`) for multi-instance and shutdown tests, and fresh
// Postgres databases for them (created through an admin connection, dropped afterwards).
import { join } from "node:path";
import postgres from "postgres";
import { randomBase62 } from "../../src/ids";
import { TEST_JWT_SECRET, testDatabaseUrl } from "../helpers";
import { startPgBouncer, type Bouncer } from "./pgbouncer";

const root = join(import.meta.dir, "../..");
export const ADMIN_EMAIL = "ops@example.test";
export const ADMIN_PASSWORD = "correct horse battery staple";

export interface Instance {
  base: string;
  proc: ReturnType<typeof Bun.spawn>;
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number>;
  stop(): Promise<void>;
}

// TEST_PGBOUNCER=transaction|session: every instance reaches its database through a PgBouncer in
// that mode (one per database, started on first use, stopped with the database), as .ci/run does
// for this suite. Instances then use smaller pools, as an operator would size them.
const bouncers = new Map<string, Promise<Bouncer>>();

async function throughPooler(env: Record<string, string>): Promise<Record<string, string>> {
  const mode = process.env.TEST_PGBOUNCER;
  if (!mode || !env.DATABASE_URL || env.DATABASE_POOLER) return env;
  if (mode !== "transaction" && mode !== "session") throw new Error("TEST_PGBOUNCER must be transaction or session");
  const direct = env.DATABASE_URL;
  let bouncer = bouncers.get(direct);
  if (!bouncer) bouncers.set(direct, (bouncer = startPgBouncer(direct, { poolMode: mode, poolSize: mode === "session" ? 14 : 4 })));
  return {
    ...env,
    DATABASE_URL: (await bouncer).url,
    DATABASE_POOLER: mode,
    DATABASE_POOL_SIZE: "5",
    ...(mode === "transaction" ? { DATABASE_LISTEN_URL: direct } : {}),
  };
}

export async function startInstance(givenEnv: Record<string, string>): Promise<Instance> {
  const env = await throughPooler(givenEnv);
  const proc = Bun.spawn([process.execPath, "src/index.ts"], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? "",
      HOST: "127.0.0.1",
      PORT: "0",
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: "warn",
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
      ...env,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const reader = stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) out += decoder.decode(r.value);
  };
  void drain(proc.stdout as ReadableStream<Uint8Array>).catch(() => {});
  void drain(proc.stderr as ReadableStream<Uint8Array>).catch(() => {});
  const deadline = Date.now() + 60_000;
  let match: RegExpExecArray | null = null;
  while (!(match = /"msg":"listening".*?"url":"(http:\/\/[^"]+)"/.exec(out))) {
    if (proc.exitCode !== null) throw new Error(`chatgate exited early (${proc.exitCode}): ${out}`);
    if (Date.now() > deadline) throw new Error(`no "listening" line: ${out}`);
    await Bun.sleep(25);
  }
  const exited = proc.exited;
  return {
    base: match[1]!,
    proc,
    output: () => out,
    exited,
    async stop() {
      if (proc.exitCode === null && !proc.killed) proc.kill("SIGKILL");
      await exited;
    },
  };
}

/** A database of its own on the test Postgres: `create database`, and a drop for afterwards. */
export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = testDatabaseUrl();
  if (!base) throw new Error("needs TEST_DATABASE_URL");
  const name = `chatgate_multi_${randomBase62(10).toLowerCase()}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const bouncer = bouncers.get(url.toString());
      bouncers.delete(url.toString());
      await (await bouncer?.catch(() => undefined))?.stop();
      const a = postgres(base, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists "${name}" with (force)`);
      await a.end();
    },
  };
}

/** An access token of the bootstrap admin, by logging in over HTTP. */
export async function adminToken(base: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/chat/authenticate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
  });
  if (res.status !== 200) throw new Error(`admin login: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** JSON call with a bearer token; throws on an unexpected status. */
export async function call(base: string, method: string, path: string, token?: string, body?: unknown, expect?: number): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (expect !== undefined ? res.status !== expect : !res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Two instances on one database; the first migrates, the second starts on the migrated schema. */
export async function startPair(env: Record<string, string>): Promise<[Instance, Instance]> {
  const a = await startInstance(env);
  const b = await startInstance(env);
  return [a, b];
}

/** Polls until `check` is true; resolves with the milliseconds it took (throws past `limitMs`). */
export async function within(limitMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`);
    await Bun.sleep(25);
  }
}

export async function status(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<number> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...headers, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}
