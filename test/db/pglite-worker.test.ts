// The embedded database runs in a worker thread: a long statement no longer stalls requests that
// need no database, transactions hold the worker's one connection (others queue behind them) and
// always end, Postgres errors keep their fields, LISTEN/NOTIFY crosses the thread, and a dead
// worker is a fast 503, never a hang.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, rowsOf, type Database } from "../../src/db/client";
import type { RemotePglite } from "../../src/db/pglite-remote";
import { createLogger } from "../../src/http/logger";
import { json, makeApp, type TestApp } from "../helpers";
import { createKey } from "../keys/helpers";

/** A statement that keeps the database busy until it is cancelled by its end. */
const LONG_SLEEP = sql`select pg_sleep(3)`;

describe("requests that need no database do not wait behind one that does", () => {
  let t: TestApp;
  let base: string;
  let key: string;
  let server: { stop(force?: boolean): unknown };

  beforeAll(async () => {
    t = await makeApp({}, { dataDir: "memory://" }); // the embedded database is the point, also when TEST_DATABASE_URL is set
    key = (await createKey(t)).key;
    const listening = t.app.listen({ port: 0, hostname: "127.0.0.1" });
    server = listening.server!;
    base = `http://127.0.0.1:${listening.server!.port}`;
  }, 60_000);
  afterAll(async () => {
    await server.stop(true);
    await t.close();
  });

  test("healthz and a cached validate answer over a socket while a long statement runs", async () => {
    const validate = () => fetch(`${base}/api/auth/validate`, { headers: { "x-api-key": key } });
    expect((await validate()).status).toBe(200); // the key is now cached: validate needs no database

    let running!: () => void;
    const started = new Promise<void>((r) => (running = r));
    let finished = false;
    // Only the database's own thread can run the sleep; the transaction shows it has begun.
    const long = t.ctx.db.transaction(async (tx) => {
      await tx.execute(sql`select 1`);
      running();
      await tx.execute(LONG_SLEEP);
    });
    const done = long.then(() => (finished = true));
    await started;
    // A statement queued behind the transaction, still owed when the answers below arrive.
    let queuedDone = false;
    const queued = t.ctx.db.execute(sql`select 1`).then(() => (queuedDone = true));

    const health = await fetch(`${base}/healthz`);
    const valid = await validate();
    expect(health.status).toBe(200);
    expect(valid.status).toBe(200);
    expect(await json(valid)).toMatchObject({ valid: true });
    // In-process PGlite ran the sleep on this thread: these answers could only come after it.
    expect(finished).toBe(false);
    expect(queuedDone).toBe(false);
    await done;
    await queued;
  }, 30_000);
});

describe("the worker driver", () => {
  let database: Database;

  beforeAll(async () => {
    database = await openDatabase({ dataDir: "memory://" });
    await database.db.execute(sql`create table w (v text primary key)`);
  }, 60_000);
  afterAll(async () => {
    await database.close();
  });

  test("statements outside a transaction wait for it and never see its uncommitted rows", async () => {
    let posted!: () => void;
    const outsidePosted = new Promise<void>((r) => (posted = r));
    let inserted!: () => void;
    const didInsert = new Promise<void>((r) => (inserted = r));
    const order: string[] = [];
    const tx = database.db.transaction(async (tx) => {
      await tx.execute(sql`insert into w values ('queued')`);
      inserted();
      await outsidePosted;
      // The worker takes messages in order: once this answers, it has had the outside statement.
      await tx.execute(sql`select 1`);
      order.push("transaction");
    });
    await didInsert;
    const outside = database.db.execute(sql`select count(*)::int as n from w where v = 'queued'`).then((r) => {
      order.push("outside");
      return rowsOf<{ n: number }>(r)[0]!.n;
    });
    posted();
    await tx;
    expect(await outside).toBe(1);
    expect(order).toEqual(["transaction", "outside"]);
  });

  test("a failed or rolled-back transaction rolls back and releases the connection", async () => {
    await expect(
      database.db.transaction(async (tx) => {
        await tx.execute(sql`insert into w values ('gone')`);
        throw new Error("caller failed");
      }),
    ).rejects.toThrow("caller failed");
    await expect(
      database.db.transaction(async (tx) => {
        await tx.execute(sql`insert into w values ('gone-too')`);
        await tx.execute(sql`insert into w values ('gone-too')`); // unique violation: aborted
      }),
    ).rejects.toMatchObject({ cause: { code: "23505" } });
    await expect(
      database.db.transaction(async (tx) => {
        await tx.execute(sql`insert into w values ('asked')`);
        tx.rollback();
      }),
    ).rejects.toThrow();
    const rows = rowsOf<{ v: string }>(await database.db.execute(sql`select v from w where v like 'gone%' or v = 'asked'`));
    expect(rows).toEqual([]);
    // Nested transactions are savepoints inside the one held connection.
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`insert into w values ('outer')`);
      await tx
        .transaction(async (inner) => {
          await inner.execute(sql`insert into w values ('inner')`);
          inner.rollback();
        })
        .catch(() => undefined);
    });
    const kept = rowsOf<{ v: string }>(await database.db.execute(sql`select v from w where v in ('outer', 'inner') order by v`));
    expect(kept.map((r) => r.v)).toEqual(["outer"]);
  });

  test("LISTEN/NOTIFY crosses the thread", async () => {
    let heard!: (payload: string) => void;
    const got = new Promise<string>((r) => (heard = r));
    const unlisten = await database.listen("w_channel", (p) => heard(p));
    try {
      await database.notify("w_channel", "hello");
      expect(await got).toBe("hello");
    } finally {
      await unlisten();
    }
  });
});

describe("a dead worker", () => {
  test("fails the statement it owed and every later one as unavailable, and says so once", async () => {
    const lines: string[] = [];
    const database = await openDatabase({ dataDir: "memory://", log: createLogger("error", (l) => lines.push(l)) });
    try {
      const remote = (database.db as unknown as { $client: RemotePglite }).$client;
      const owed = database.db.execute(LONG_SLEEP).then(
        () => undefined,
        (e: { code?: string; cause?: { code?: string } }) => e.cause?.code ?? e.code,
      );
      while (remote.owed === 0) await Bun.sleep(1); // until the sleep has been sent
      remote.worker.terminate();
      expect(await owed).toBe("CONNECTION_CLOSED");
      await expect(database.ping()).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
      expect(lines.filter((l) => l.includes("embedded database worker stopped"))).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: "error", owed: 1 });
    } finally {
      await database.close();
    }
  }, 60_000);

  test("over a folder data dir is replaced: the data is still there and requests are served again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chatgate-pgw-"));
    const lines: string[] = [];
    const database = await openDatabase({ dataDir: dir, log: createLogger("info", (l) => lines.push(l)) });
    try {
      await database.db.execute(sql`create table kept (v text)`);
      await database.db.execute(sql`insert into kept values ('before the crash')`);
      const heard: string[] = [];
      await database.listen("kept_channel", (p) => heard.push(p));
      const remote = (database.db as unknown as { $client: RemotePglite }).$client;
      const first = remote.worker;
      first.terminate();
      await expect(database.ping()).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
      // Until the new worker has reopened the folder (a restart, not a timing assumption).
      for (;;) {
        if (
          await database.ping().then(
            () => true,
            () => false,
          )
        )
          break;
        await Bun.sleep(50);
      }
      expect(remote.worker).not.toBe(first);
      const rows = rowsOf<{ v: string }>(await database.db.execute(sql`select v from kept`));
      expect(rows).toEqual([{ v: "before the crash" }]);
      await database.notify("kept_channel", "after"); // LISTEN was renewed on the new worker
      await database.db.execute(sql`select 1`);
      expect(heard).toEqual(["after"]);
      expect(lines.map((l) => JSON.parse(l).msg)).toEqual(["embedded database worker stopped", "embedded database worker restarted"]);
    } finally {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test("is a 503 with Retry-After on routes that need the database, and /healthz still answers", async () => {
    const t = await makeApp({}, { dataDir: "memory://" }); // the embedded database, also when TEST_DATABASE_URL is set
    try {
      (t.ctx.db as unknown as { $client: RemotePglite }).$client.worker.terminate();
      const ready = await t.request("GET", "/readyz");
      expect(ready.status).toBe(503);
      const login = await t.request("POST", "/api/v1/chat/authenticate", { body: { username: "a@b.test", password: "password-1" } });
      expect(login.status).toBe(503);
      expect(login.headers.get("retry-after")).toBeTruthy();
      expect((await t.request("GET", "/healthz")).status).toBe(200);
    } finally {
      await t.close();
    }
  }, 60_000);
});
