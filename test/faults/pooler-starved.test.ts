// Behind a session-mode PgBouncer whose pool is smaller than chatgate's, most of chatgate's
// connections get no server and no answer at all: the queries on them must fail (503) and the
// process must live. Runs only with TEST_DATABASE_URL and pgbouncer installed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testDatabaseUrl } from "../helpers";
import { adminToken, freshDatabase, startInstance, status, type Instance } from "../multi/instances";
import { PGBOUNCER, startPgBouncer, type Bouncer } from "../multi/pgbouncer";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy";

const url = testDatabaseUrl();

let db: { url: string; drop(): Promise<void> } | undefined;
let bouncer: Bouncer;
let chatgate: Instance;
// Between chatgate and PgBouncer, only to see chatgate give up a connection.
let proxy: TcpProxy;

describe.if(Boolean(url && PGBOUNCER))("a pooler with fewer server connections than chatgate's pool", () => {
  beforeAll(async () => {
    db = await freshDatabase();
    bouncer = await startPgBouncer(db.url, { poolMode: "session", poolSize: 3 });
    proxy = await startTcpProxy({ host: "127.0.0.1", port: bouncer.port });
    const proxied = new URL(bouncer.url);
    proxied.port = String(proxy.port);
    chatgate = await startInstance({ DATABASE_URL: proxied.toString(), DATABASE_POOLER: "session" });
  }, 90_000);

  afterAll(async () => {
    await chatgate?.stop();
    await proxy?.stop();
    await bouncer?.stop();
    await db?.drop();
  }, 30_000);

  test("queries waiting on a starved connection end in 503 and the process keeps serving", async () => {
    const admin = await adminToken(chatgate.base);
    const auth = { authorization: `Bearer ${admin}` };
    // In session mode the LISTEN connection holds one server for good, one pooled connection the
    // other: concurrent requests open more connections, which PgBouncer never serves.
    const results = await Promise.all(Array.from({ length: 12 }, () => status(chatgate.base, "GET", "/api/auth/users", auth)));
    console.log(`starved pool: ${results.join(" ")}`);
    expect(results.every((s) => s === 200 || s === 503)).toBe(true);
    expect(results).toContain(503);
    // The starved connections owe answers that never come: their silence deadline destroys
    // them. That moment used to throw an uncaught error and end the process.
    while (proxy.closedByClient === 0 && chatgate.proc.exitCode === null) await Bun.sleep(100);
    expect(chatgate.proc.exitCode).toBeNull();
    expect(chatgate.output()).not.toMatch(/uncaught|did not answer/i);
    expect(await status(chatgate.base, "GET", "/healthz")).toBe(200);
    expect(await status(chatgate.base, "GET", "/api/auth/users", auth)).toBe(200);
  }, 120_000);
});
