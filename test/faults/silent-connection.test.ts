// A database connection that goes silent (paused, not closed: a partition, or a pooler with no
// server connection to give) must fail the queries on it with 503, never end the process. The
// chatgate under test is a real process, so an uncaught error would kill it. Runs only with
// TEST_DATABASE_URL.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testDatabaseUrl } from "../helpers";
import { adminToken, freshDatabase, startInstance, status, type Instance } from "../multi/instances";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy";

const url = testDatabaseUrl();

let db: { url: string; drop(): Promise<void> } | undefined;
let proxy: TcpProxy;
let chatgate: Instance;

describe.if(Boolean(url))("a silent database connection", () => {
  beforeAll(async () => {
    db = await freshDatabase();
    const target = new URL(db.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const proxied = new URL(db.url);
    proxied.port = String(proxy.port);
    chatgate = await startInstance({ DATABASE_URL: proxied.toString() });
  }, 90_000);

  afterAll(async () => {
    await chatgate?.stop();
    await proxy?.stop();
    await db?.drop();
  }, 30_000);

  test("queries on paused connections end in 503; every silent connection is given up; the process lives and serves again", async () => {
    const admin = await adminToken(chatgate.base);
    const auth = { authorization: `Bearer ${admin}` };
    expect(await status(chatgate.base, "GET", "/api/auth/users", auth)).toBe(200);
    await proxy.setMode("blackhole");
    const before = proxy.closedByClient;
    // More requests than pooled connections: some wait for one until the acquire deadline, the
    // others sit on a paused connection until its silence deadline.
    const results = await Promise.all(Array.from({ length: 14 }, () => status(chatgate.base, "GET", "/api/auth/users", auth)));
    expect(results.every((s) => s === 503)).toBe(true);
    // Wait for the event that used to crash the process: chatgate giving up (destroying) every
    // silent connection that was open when the answers came back.
    const mark = proxy.accepted;
    // The LISTEN connection owes no answer, so it alone may stay.
    while (proxy.openAmongFirst(mark) > 1 && chatgate.proc.exitCode === null) await Bun.sleep(100);
    expect(proxy.closedByClient).toBeGreaterThan(before);
    expect(chatgate.proc.exitCode).toBeNull();
    expect(chatgate.output()).not.toContain("did not answer");
    expect(await status(chatgate.base, "GET", "/healthz")).toBe(200);
    await proxy.setMode("open");
    let ready = 0;
    while ((ready = await status(chatgate.base, "GET", "/readyz")) !== 200) await Bun.sleep(200);
    expect(ready).toBe(200);
    expect(await status(chatgate.base, "GET", "/api/auth/users", auth)).toBe(200);
  }, 120_000);
});
