import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { ConfigError, loadConfig } from "../../src/config";
import { openDatabase } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";
import { settings } from "../../src/db/schema";
import { createUser } from "../../src/identity/users";
import { loadMasterSecret } from "../../src/kernel/signing-keys";

const root = join(import.meta.dir, "../..");
const work = mkdtempSync(join(tmpdir(), "chatgate-datadir-"));
// The scan must see what chatgate created, so the parent is itself open to others.
chmodSync(work, 0o755);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Every file or folder under `dir` (not `dir` itself) that a user other than the owner can reach. */
function exposed(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if ((st.mode & 0o077) !== 0) out.push(`${p} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) out.push(...exposed(p));
  }
  return out;
}

async function openEmbedded(dataDir: string) {
  const database = await openDatabase({ dataDir });
  await migrate(database.db);
  const secret = await loadMasterSecret(database.db, { embedded: true, dataDir });
  return { database, secret: new TextDecoder().decode(secret) };
}

describe("embedded data directory", () => {
  test("created under umask 0000, nothing in it (nor the secret file) is readable by others, also after writes and a restart", async () => {
    const parent = join(work, "fresh");
    mkdirSync(parent, { mode: 0o755 });
    chmodSync(parent, 0o755);
    const dataDir = join(parent, "state", "db");
    const before = process.umask(0);
    try {
      const first = await openEmbedded(dataDir);
      await createUser(first.database.db, { email: "modes@example.test", password: "a-long-unusual-passphrase", role: "admin" });
      await first.database.close();
      // Reopened: new WAL segments and relation files are private too.
      const second = await openEmbedded(dataDir);
      expect(second.secret).toBe(first.secret);
      await createUser(second.database.db, { email: "modes2@example.test", password: "another-unusual-passphrase" });
      await second.database.close();
    } finally {
      process.umask(before);
    }
    expect(readdirSync(join(parent, "state")).sort()).toEqual(["db", "db.jwt-secret"]);
    expect(statSync(join(dataDir, "PG_VERSION")).isFile()).toBe(true);
    expect(exposed(parent)).toEqual([]);
  }, 120_000);

  test("a file left readable inside a private data dir is tightened at start", async () => {
    const dataDir = join(work, "tighten");
    const first = await openEmbedded(dataDir);
    await first.database.close();
    chmodSync(join(dataDir, "PG_VERSION"), 0o666);
    const again = await openEmbedded(dataDir);
    await again.database.close();
    expect(statSync(join(dataDir, "PG_VERSION")).mode & 0o777).toBe(0o600);
  }, 120_000);

  test("a data dir others can read is refused, naming it and the fix; the CLI exits 1", async () => {
    const dataDir = join(work, "open");
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    const err = await openDatabase({ dataDir }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toContain(dataDir);
    expect(err?.message).toContain(`chmod -R go-rwx ${dataDir}`);
    const proc = Bun.spawn([process.execPath, join(root, "src/index.ts"), "migrate"], {
      env: { PATH: process.env.PATH ?? "", DATA_DIR: dataDir },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stderr, code] = await Promise.all([new Response(proc.stderr as ReadableStream).text(), proc.exited]);
    expect(code).toBe(1);
    expect(stderr).toContain(`chmod -R go-rwx ${dataDir}`);
    expect(existsSync(join(dataDir, "PG_VERSION"))).toBe(false);
  }, 120_000);
});

describe("master secret", () => {
  test("a secret an earlier version kept in the database moves to its own file and leaves the database", async () => {
    const dataDir = join(work, "legacy");
    const database = await openDatabase({ dataDir });
    await migrate(database.db);
    const old = "legacy-secret-generated-by-an-earlier-version-0123456789";
    await database.db.insert(settings).values({ key: "jwt_secret", value: old });
    const secret = await loadMasterSecret(database.db, { embedded: true, dataDir });
    expect(new TextDecoder().decode(secret)).toBe(old);
    expect(readFileSync(`${dataDir}.jwt-secret`, "utf8").trim()).toBe(old);
    expect(statSync(`${dataDir}.jwt-secret`).mode & 0o777).toBe(0o600);
    expect(await database.db.select().from(settings).where(eq(settings.key, "jwt_secret"))).toEqual([]);
    await database.close();
  }, 120_000);

  test("a configured secret also removes a leftover database copy", async () => {
    const database = await openDatabase({ dataDir: "memory://" });
    await migrate(database.db);
    await database.db.insert(settings).values({ key: "jwt_secret", value: "x".repeat(40) });
    await loadMasterSecret(database.db, { configured: "y".repeat(40), embedded: true, dataDir: "memory://" });
    expect(await database.db.select().from(settings).where(eq(settings.key, "jwt_secret"))).toEqual([]);
    await database.close();
  }, 120_000);

  test("a secret file others can read is refused", async () => {
    const dataDir = join(work, "loose-secret");
    const first = await openEmbedded(dataDir);
    chmodSync(`${dataDir}.jwt-secret`, 0o644);
    const err = await loadMasterSecret(first.database.db, { embedded: true, dataDir }).then(
      () => undefined,
      (e: Error) => e,
    );
    await first.database.close();
    expect(err?.message).toContain(`chmod 600 ${dataDir}.jwt-secret`);
  }, 120_000);

  test("DATABASE_URL needs JWT_SECRET or JWT_SECRET_FILE: a clear start-up error and exit 1", async () => {
    const url = "postgres://postgres@127.0.0.1:5432/test";
    expect(() => loadConfig({ DATABASE_URL: url })).toThrow(ConfigError);
    expect(() => loadConfig({ DATABASE_URL: url })).toThrow(/JWT_SECRET/);
    const file = join(work, "secret-file");
    writeFileSync(file, `${"s".repeat(48)}\n`, { mode: 0o600 });
    expect(loadConfig({ DATABASE_URL: url, JWT_SECRET_FILE: file }).jwtSecret).toBe("s".repeat(48));
    expect(() => loadConfig({ DATABASE_URL: url, JWT_SECRET_FILE: join(work, "missing") })).toThrow(/JWT_SECRET_FILE/);
    const proc = Bun.spawn([process.execPath, join(root, "src/index.ts"), "migrate"], {
      env: { PATH: process.env.PATH ?? "", DATABASE_URL: url },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stderr, code] = await Promise.all([new Response(proc.stderr as ReadableStream).text(), proc.exited]);
    expect(code).toBe(1);
    expect(stderr).toContain("JWT_SECRET: is required with DATABASE_URL");
  }, 120_000);
});
