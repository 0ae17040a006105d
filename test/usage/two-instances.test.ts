// Done when (issue 19): GET /api/admin/usage totals equal the per-request counts of a scripted
// load across two instances. The script runs concurrent batches of real requests spread over two
// instances on one database and counts, from each answer's status, what usage should hold per
// user and per key; the API (asked of one instance, the other flushing every 200 ms) must then
// hold exactly that. On Postgres (TEST_DATABASE_URL) the instances are two chatgate processes on a
// fresh database, as in test/multi; on PGlite, two app contexts sharing one embedded database.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApp, createContext, stopContext } from "../../src/app";
import { loadConfig } from "../../src/config";
import { migrate } from "../../src/db/migrate";
import { createLogger } from "../../src/http/logger";
import { issueSession } from "../../src/identity/sessions";
import { toUserState } from "../../src/identity/user-cache";
import { createUser } from "../../src/identity/users";
import { startDouble } from "../chat/helpers";
import type { FlowiseDouble } from "../doubles/flowise";
import { openTestDatabase, TEST_JWT_SECRET, testDatabaseUrl, within } from "../helpers";
import { adminToken, freshDatabase, startPair, type Instance } from "../multi/instances";

const OK_FLOW = crypto.randomUUID();
const FAIL_FLOW = crypto.randomUUID();
const STREAM_KEY = "j46xbwqsrzsk";
const STREAM_SECRET = "stream-secret-for-tests-0123456789abcdef";
const USERS = 4;
const OPS = 240;
const BATCH = 8;

interface Node {
  base: string;
}

let d: FlowiseDouble;
let nodes: [Node, Node];
let admin: string;
const cleanups: (() => Promise<void>)[] = [];

async function startInProcess(env: Record<string, string>): Promise<{ nodes: [Node, Node]; admin: string }> {
  const { database, drop } = await openTestDatabase();
  await migrate(database.db);
  const config = loadConfig({ JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "warn", ...env });
  const ctxs = [
    await createContext(
      config,
      database,
      createLogger("warn", () => {}),
    ),
    await createContext(
      config,
      database,
      createLogger("warn", () => {}),
    ),
  ];
  const apps = ctxs.map((c) => createApp(c).listen({ port: 0, hostname: "127.0.0.1" }));
  cleanups.push(async () => {
    for (const a of apps) await a.stop(true);
    for (const c of ctxs) await stopContext(c);
    await database.close();
    await drop();
  });
  const user = await createUser(database.db, { email: `admin-${crypto.randomUUID()}@example.test`, password: "admin password 12345", name: "Admin", role: "admin" });
  const session = await issueSession(ctxs[0]!, toUserState(user));
  return { nodes: [{ base: `http://127.0.0.1:${apps[0]!.server!.port}` }, { base: `http://127.0.0.1:${apps[1]!.server!.port}` }], admin: session.accessToken };
}

async function startProcesses(env: Record<string, string>): Promise<{ nodes: [Node, Node]; admin: string }> {
  const db = await freshDatabase();
  const pair: [Instance, Instance] = await startPair({ DATABASE_URL: db.url, ...env });
  cleanups.push(async () => {
    for (const i of pair) await i.stop();
    await db.drop();
  });
  return { nodes: pair, admin: await adminToken(pair[0].base) };
}

async function call(base: string, method: string, path: string, opts: { token?: string; key?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.key) headers["x-api-key"] = opts.key;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${base}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body };
}

type Counts = Record<string, number>;
const FIELDS = ["requests", "predictions", "failed_predictions", "credits_spent", "tokens_issued", "rate_limited", "logins", "failed_logins", "errors", "server_errors"];
const zero = (): Counts => Object.fromEntries(FIELDS.map((f) => [f, 0]));

interface LoadUser {
  id: string;
  email: string;
  password: string;
  customerId: number;
  token: string;
  key: { id: string; key: string };
  expectUser: Counts;
  expectKey: Counts;
}

beforeAll(async () => {
  d = await startDouble([OK_FLOW, FAIL_FLOW]);
  await d.setFault({ kind: "status500" }, FAIL_FLOW);
  const env = {
    FLOWISE_URL: d.url,
    FLOWISE_API_KEY: "flowise-test-key",
    STREAM_API_KEY: STREAM_KEY,
    STREAM_API_SECRET: STREAM_SECRET,
    STREAM_TOKEN_RATE: "100000",
    USAGE_FLUSH_MS: "200",
    // All from 127.0.0.1: a per-address throttle of 10 would refuse most good logins too.
    LOGIN_MAX_FAILURES: "1000",
  };
  ({ nodes, admin } = testDatabaseUrl() ? await startProcesses(env) : await startInProcess(env));
}, 120_000);

afterAll(async () => {
  for (const c of cleanups) await c();
  await d?.stop();
}, 60_000);

async function seedLoadUsers(): Promise<LoadUser[]> {
  const [A] = nodes;
  const ok = await call(A.base, "POST", "/api/admin/chatflows", { token: admin, body: { id: OK_FLOW, name: "Load ok", cost: 2 } });
  const fail = await call(A.base, "POST", "/api/admin/chatflows", { token: admin, body: { id: FAIL_FLOW, name: "Load failing", cost: 5 } });
  expect([ok.status, fail.status]).toEqual([201, 201]);
  const users: LoadUser[] = [];
  for (let i = 0; i < USERS; i++) {
    const email = `load${i}-${crypto.randomUUID().slice(0, 8)}@example.test`;
    const password = `load password ${i} 12345`;
    const created = await call(A.base, "POST", "/api/auth/users", { token: admin, body: { email, name: `Load ${i}`, password } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    for (const flow of [OK_FLOW, FAIL_FLOW]) expect((await call(A.base, "PUT", `/api/admin/chatflows/${flow}/users/${id}`, { token: admin })).status).toBe(201);
    // Enough for some predictions, not all: the 402s are part of the load.
    expect((await call(A.base, "POST", `/api/admin/users/${id}/credits`, { token: admin, body: { amount: 10, reason: "load" } })).status).toBe(200);
    // The first user's key is rate limited: its 429s are counted too.
    const keyBody = { name: `load key ${i}`, user_id: id, level: "write", ...(i === 0 ? { rate_limit: { limit: 6, window_s: 3600 } } : {}) };
    const key = await call(A.base, "POST", "/api/auth/api-keys", { token: admin, body: keyBody });
    expect(key.status).toBe(201);
    // The user's session and profile: a login (two tokens) and a request, counted like the load's.
    const me = await call(A.base, "POST", "/api/auth/token", { body: { username: email, password } });
    expect(me.status).toBe(200);
    const profile = await call(A.base, "GET", "/api/auth/me", { token: me.body.access_token });
    users.push({
      id,
      email,
      password,
      customerId: profile.body.customer_id,
      token: me.body.access_token,
      key: { id: key.body.id, key: key.body.key },
      expectUser: { ...zero(), logins: 1, tokens_issued: 2, requests: 1 },
      expectKey: zero(),
    });
  }
  return users;
}

/** Counts an answer to an authenticated request into the expectations it belongs to. */
function counted(targets: Counts[], status: number, gated429 = false): void {
  for (const c of targets) {
    c.requests! += 1;
    if (status >= 400) c.errors! += 1;
    if (status >= 500) c.server_errors! += 1;
    if (status === 429 && gated429) c.rate_limited! += 1;
  }
}

const add = (targets: Counts[], field: string, n = 1) => {
  for (const c of targets) c[field]! += n;
};

/** One scripted operation of user `u` against `node`; what it did goes into the expectations. */
async function operate(kind: number, u: LoadUser, node: Node): Promise<string> {
  switch (kind) {
    case 0: {
      const r = await call(node.base, "GET", "/api/auth/me", { token: u.token });
      counted([u.expectUser], r.status);
      return `me ${r.status}`;
    }
    case 1: {
      const r = await call(node.base, "GET", "/api/auth/validate", { key: u.key.key });
      counted([u.expectUser, u.expectKey], r.status, true);
      return `validate ${r.status}`;
    }
    case 2:
    case 3: {
      const flow = kind === 2 ? OK_FLOW : FAIL_FLOW;
      const r = await call(node.base, "POST", "/api/v1/chat/predict", { token: u.token, body: { chatflow_id: flow, question: "load?" } });
      counted([u.expectUser], r.status);
      add([u.expectUser], "predictions");
      if (r.status === 200) add([u.expectUser], "credits_spent", 2);
      else add([u.expectUser], "failed_predictions");
      return `predict ${r.status}`;
    }
    case 4: {
      const r = await call(node.base, "POST", `/api-key/chat-token?brain_id=${OK_FLOW}`, { key: u.key.key });
      counted([u.expectUser, u.expectKey], r.status, true);
      if (r.status === 200) add([u.expectUser, u.expectKey], "tokens_issued");
      return `chat-token ${r.status}`;
    }
    case 5: {
      const r = await call(node.base, "POST", "/stream-chat/token", { token: u.token, body: { customer_id: u.customerId } });
      counted([u.expectUser], r.status);
      if (r.status === 200) add([u.expectUser], "tokens_issued");
      return `stream ${r.status}`;
    }
    case 6: {
      const r = await call(node.base, "POST", "/api/auth/token", { body: { username: u.email, password: u.password } });
      if (r.status === 200) {
        add([u.expectUser], "logins");
        add([u.expectUser], "tokens_issued", 2);
      } else add([u.expectUser], "failed_logins"); // throttled (429) after the bad ones
      return `login ${r.status}`;
    }
    case 7: {
      const r = await call(node.base, "POST", "/api/auth/token", { body: { username: u.email, password: "not the password 1" } });
      // A refused or throttled login counts for the account; its 401/429 is an anonymous error.
      add([u.expectUser], "failed_logins");
      return `bad login ${r.status}`;
    }
    default: {
      const r = await call(node.base, "POST", "/api/admin/tokens", { token: admin, body: { userId: u.id } });
      if (r.status === 200) add([u.expectUser], "tokens_issued");
      return `api token ${r.status}`;
    }
  }
}

/** Every counter summed over one user's or key's series, as /api/admin/usage answers it. */
async function usageOf(node: Node, group: "user" | "key", id: string): Promise<Counts> {
  const r = await call(node.base, "GET", `/api/admin/usage?group_by=${group}&id=${id}`, { token: admin });
  expect(r.status).toBe(200);
  const out = zero();
  for (const p of r.body.series) for (const f of FIELDS) out[f]! += p[f];
  return out;
}

describe("usage across two instances", () => {
  test("totals from /api/admin/usage equal the counts of a scripted load spread over both", async () => {
    const users = await seedLoadUsers();
    // A fixed mix (no randomness: a failure replays): kinds cycle, users rotate, instances alternate.
    const plan = Array.from({ length: OPS }, (_, i) => ({ kind: (i * 7) % 9, user: users[i % USERS]!, node: nodes[(i >> 1) % 2]! }));
    // Bad logins at most 3 per account: the login throttle (10 per window) stays out of the way.
    let bad = 0;
    const seen: Record<string, number> = {};
    for (let i = 0; i < plan.length; i += BATCH) {
      const batch = plan.slice(i, i + BATCH).filter((p) => p.kind !== 7 || ++bad <= 3 * USERS);
      const outcomes = await Promise.all(batch.map((p) => operate(p.kind, p.user, p.node)));
      for (const o of outcomes) seen[o] = (seen[o] ?? 0) + 1;
    }
    console.log("scripted load:", JSON.stringify(seen));
    // The mix did what it is meant to: rate limits, failures and 402s really happened.
    expect(Object.keys(seen).some((o) => o.startsWith("validate 429"))).toBe(true);
    expect(seen["predict 502"]).toBeGreaterThan(0);
    expect(seen["predict 402"]).toBeGreaterThan(0);
    expect(seen["predict 200"]).toBeGreaterThan(0);

    const [A, B] = nodes;
    const actual = async () => Promise.all(users.flatMap((u) => [usageOf(A, "user", u.id), usageOf(B, "key", u.key.id)]));
    const expected = users.flatMap((u) => [u.expectUser, u.expectKey]);
    // A writes its own counts before answering; B's arrive within its flush interval.
    await within(10_000, async () => JSON.stringify(await actual()) === JSON.stringify(expected));
    expect(await actual()).toEqual(expected);
  }, 120_000);
});
