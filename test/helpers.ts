import postgres from "postgres";
import { createApp, type App, createContext, stopContext, type AppContext } from "../src/app";
import { loadConfig, type Config } from "../src/config";
import { openDatabase, type Database } from "../src/db/client";
import { migrate } from "../src/db/migrate";
import type { User } from "../src/db/schema";
import { createLogger } from "../src/http/logger";
import { randomBase62 } from "../src/ids";
import { issueSession } from "../src/identity/sessions";
import { toUserState } from "../src/identity/user-cache";
import { createUser } from "../src/identity/users";

export const TEST_JWT_SECRET = "test-secret-that-is-at-least-32-bytes-long!!";

/** Real Postgres only on loopback: tests never reach anything else. */
export function testDatabaseUrl(): string | undefined {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) return undefined;
  const host = new URL(url).hostname;
  if (!["127.0.0.1", "localhost", "::1", "[::1]"].includes(host)) {
    throw new Error(`TEST_DATABASE_URL must point at loopback, not ${host}`);
  }
  return url;
}

/** A database of its own: PGlite in memory, or a fresh schema on the test Postgres. */
export async function openTestDatabase(schema?: string): Promise<{ database: Database; schema?: string; drop(): Promise<void> }> {
  const url = testDatabaseUrl();
  if (!url) {
    const database = await openDatabase({ dataDir: "memory://" });
    return { database, drop: async () => {} };
  }
  const name = schema ?? `t_${randomBase62(12).toLowerCase()}`;
  const database = await openDatabase({ databaseUrl: url, dataDir: "", schema: name });
  return {
    database,
    schema: name,
    drop: async () => {
      const admin = postgres(url, { max: 1, onnotice: () => {} });
      await admin.unsafe(`drop schema if exists "${name}" cascade`);
      await admin.end();
    },
  };
}

export interface TestApp {
  app: App;
  ctx: AppContext;
  config: Config;
  logs: string[];
  schema?: string;
  /** In-process request; `token` becomes a Bearer header, objects become JSON bodies. */
  request(method: string, path: string, opts?: RequestOpts): Promise<Response>;
  close(): Promise<void>;
}

export interface RequestOpts {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export function buildRequest(base: string, method: string, path: string, opts: RequestOpts = {}): Request {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    if (typeof opts.body === "string" || opts.body instanceof URLSearchParams) body = opts.body as BodyInit;
    else {
      body = JSON.stringify(opts.body);
      headers["content-type"] ??= "application/json";
    }
  }
  // As a real client would: in-process Requests otherwise carry no content-length.
  if (typeof body === "string") headers["content-length"] ??= String(Buffer.byteLength(body));
  return new Request(`${base}${path}`, { method, headers, body });
}

/**
 * `reuse.schema`: join an existing Postgres schema (a second instance); `reuse.dataDir`: a PGlite
 * data directory that outlives the app (restart tests). Neither is dropped on close.
 */
export async function makeApp(env: Record<string, string> = {}, reuse?: { schema?: string; dataDir?: string }): Promise<TestApp> {
  const config = loadConfig({ JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "info", ...env });
  const { database, schema, drop } = reuse?.dataDir
    ? { database: await openDatabase({ dataDir: reuse.dataDir }), schema: undefined, drop: async () => {} }
    : await openTestDatabase(reuse?.schema);
  await migrate(database.db);
  const logs: string[] = [];
  const ctx = await createContext(
    config,
    database,
    createLogger(config.logLevel, (l) => logs.push(l)),
  );
  const app = createApp(ctx);
  return {
    app,
    ctx,
    config,
    logs,
    schema,
    request: (method, path, opts) => app.handle(buildRequest("http://localhost", method, path, opts)),
    async close() {
      await stopContext(ctx);
      await database.close();
      if (!reuse?.schema) await drop();
    },
  };
}

let userSeq = 0;

export interface SeededUser {
  user: User;
  password: string;
  accessToken: string;
  refreshToken: string;
}

/** A user with a live session, made through the services (no HTTP), for tests of other routes. */
export async function seedUser(t: TestApp, opts: { role?: "user" | "admin"; email?: string; name?: string } = {}): Promise<SeededUser> {
  const password = `pw-${randomBase62(16)}`;
  const email = opts.email ?? `user${++userSeq}-${randomBase62(6).toLowerCase()}@example.test`;
  const user = await createUser(t.ctx.db, { email, password, name: opts.name ?? `User ${userSeq}`, role: opts.role ?? "user" });
  const session = await issueSession(t.ctx, toUserState(user));
  return { user, password, accessToken: session.accessToken, refreshToken: session.refreshToken };
}

/** After-response hooks (access log, metrics) run just after the response is handed over. */
export const settle = () => Bun.sleep(10);

export async function json<T = any>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** Polls `check` until it holds or `ms` pass (cross-instance propagation: a bus NOTIFY, a cache). */
export async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await Bun.sleep(20);
  }
  return check();
}
