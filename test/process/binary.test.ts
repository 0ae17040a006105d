import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { migrations } from "../../src/db/migrations.gen";
import { randomBase62 } from "../../src/ids";
import { testDatabaseUrl } from "../helpers";

// The shipped artifact itself: built once, copied alone into an empty folder, run from another.
const root = join(import.meta.dir, "../..");
const work = mkdtempSync(join(tmpdir(), "chatgate-bin-"));
const binDir = join(work, "bin");
const runDir = join(work, "run");
const binary = join(binDir, "chatgate");

interface Running {
  proc: ReturnType<typeof Bun.spawn>;
  base: string;
  stdout: () => string;
}

// Every child is killed in afterAll, so a failing assertion never leaves a server running.
const children: ReturnType<typeof Bun.spawn>[] = [];

async function start(env: Record<string, string>): Promise<Running> {
  const proc = Bun.spawn([binary], {
    cwd: runDir,
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "warn", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  children.push(proc);
  let out = "";
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const deadline = Date.now() + 30_000;
  while (!/"msg":"listening".*?"url":"(http:\/\/[^"]+)"/.test(out)) {
    if (Date.now() > deadline) throw new Error(`no listening line: ${out}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`exited early: ${out}${await new Response(proc.stderr as ReadableStream).text()}`);
    out += decoder.decode(value);
  }
  // Keep draining so the child never blocks on a full pipe.
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      out += decoder.decode(value);
    }
  })();
  const base = /"msg":"listening".*?"url":"(http:\/\/[^"]+)"/.exec(out)![1]!;
  return { proc, base, stdout: () => out };
}

async function run(args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([binary, ...args], { cwd: runDir, env: { PATH: process.env.PATH ?? "", ...env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout as ReadableStream).text(), new Response(proc.stderr as ReadableStream).text(), proc.exited]);
  return { stdout, stderr, code };
}

beforeAll(async () => {
  const build = Bun.spawn([process.execPath, "build", "src/index.ts", "src/db/pglite-worker.ts", "--compile", "--minify", "--outfile", join(work, "build", "chatgate")], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  });
  if ((await build.exited) !== 0) throw new Error(await new Response(build.stderr as ReadableStream).text());
  Bun.spawnSync(["mkdir", "-p", binDir, runDir]);
  copyFileSync(join(work, "build", "chatgate"), binary);
  Bun.spawnSync(["chmod", "+x", binary]);
}, 120_000);

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

describe("the compiled binary", () => {
  test("starts with nothing beside it, migrates, answers /readyz, keeps data across restarts, stops on SIGTERM", async () => {
    const env = { DATA_DIR: "state/db", ADMIN_EMAIL: "ops@example.test", ADMIN_PASSWORD: "correct horse battery" };
    const first = await start(env);
    expect(first.stdout()).toContain('"first_admin":"ops@example.test"');
    const ready = await fetch(`${first.base}/readyz`);
    expect(ready.status).toBe(200);
    expect((await ready.json()).database).toBe("pglite");
    // The API reference's bundle is inside the binary, not fetched from anywhere.
    const page = await (await fetch(`${first.base}/swagger`)).text();
    const script = await fetch(`${first.base}${/src="(\/swagger\/scalar\.js[^"]*)"/.exec(page)![1]}`);
    expect(script.status).toBe(200);
    expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(1_000_000);
    first.proc.kill("SIGTERM");
    expect(await first.proc.exited).toBe(0);
    expect(readdirSync(binDir)).toEqual(["chatgate"]);

    // The admin created on the first start is still there: no second bootstrap, and the CLI
    // refuses to create the same email again.
    const dup = await run(["user", "create", "--email", "OPS@example.test", "--password", "another-password"], env);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain("already exists");

    const second = await start(env);
    expect(second.stdout()).not.toContain("first_admin");
    expect((await fetch(`${second.base}/readyz`)).status).toBe(200);
    second.proc.kill("SIGTERM");
    expect(await second.proc.exited).toBe(0);
  }, 120_000);

  test.if(!!testDatabaseUrl())(
    "on Postgres: two instances starting together migrate once and both serve",
    async () => {
      const url = new URL(testDatabaseUrl()!);
      const name = `chatgate_bin_${randomBase62(10).toLowerCase()}`;
      const admin = postgres(url.toString(), { max: 1, onnotice: () => {} });
      await admin.unsafe(`create database ${name}`);
      try {
        url.pathname = `/${name}`;
        const env = { DATABASE_URL: url.toString(), JWT_SECRET: "binary-test-secret-of-at-least-32-bytes!", ADMIN_PASSWORD: "bootstrap-password" };
        const [a, b] = await Promise.all([start(env), start(env)]);
        for (const inst of [a, b]) {
          const ready = await fetch(`${inst.base}/readyz`);
          expect(ready.status).toBe(200);
          expect((await ready.json()).database).toBe("postgres");
        }
        // Exactly one of them bootstrapped the admin, and the migration ran once.
        const banners = [a.stdout(), b.stdout()].filter((o) => o.includes("first_admin")).length;
        expect(banners).toBe(1);
        const db = postgres(url.toString(), { max: 1, onnotice: () => {} });
        const rows = await db`select tag, count(*)::int as n from chatgate_migrations group by tag`;
        await db.end();
        // Each embedded migration recorded once (a second run would have inserted its tag again).
        expect(rows.map((r) => r.tag).sort()).toEqual(migrations.map((m) => m.tag).sort());
        expect(rows.every((r) => r.n === 1)).toBe(true);
        for (const inst of [a, b]) {
          inst.proc.kill("SIGTERM");
          expect(await inst.proc.exited).toBe(0);
        }
      } finally {
        await admin.unsafe(`drop database if exists ${name} with (force)`);
        await admin.end();
      }
    },
    120_000,
  );

  test("migrate and user create work from the CLI", async () => {
    const env = { DATA_DIR: "cli/db" };
    const m = await run(["migrate"], env);
    expect(m.code).toBe(0);
    expect(m.stdout).toContain("0000_init");
    const again = await run(["migrate"], env);
    expect(again.stdout).toContain("up to date");
    const u = await run(["user", "create", "--email", "a@example.test", "--password", "long-enough-pw", "--role", "admin"], env);
    expect(u.code).toBe(0);
    expect(JSON.parse(u.stdout)).toMatchObject({ email: "a@example.test", role: "admin" });
    // The common-password dictionary travels inside the binary.
    const weak = await run(["user", "create", "--email", "b@example.test", "--password", "12345678"], env);
    expect(weak.code).toBe(1);
    expect(weak.stderr).toContain("Password is too common");
    // The data dir it made is private (0700, files 0600), as is the master secret beside it.
    const exposed = Bun.spawnSync(["find", join(runDir, "cli"), "-perm", "/077"])
      .stdout.toString()
      .trim();
    expect(exposed).toBe("");
  }, 60_000);

  test("--help, --version, unknown commands and bad flags", async () => {
    expect((await run(["--help"])).stdout).toContain("Usage:");
    expect((await run(["--version"])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const unknown = await run(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command");
    const badFlag = await run(["user", "create", "--email", "x@y.z", "--password", "p", "--colour", "red"]);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("--colour");
    const badRole = await run(["user", "create", "--email", "x@y.z", "--password", "pppppppp", "--role", "root"]);
    expect(badRole.code).toBe(2);
  });

  test.each([
    [{ JWT_SECRET: "short" }, "JWT_SECRET"],
    [{ PORT: "eighty" }, "PORT"],
    [{ DATABASE_URL: "mysql://localhost/x" }, "DATABASE_URL"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ MESSAGE_TRANSPORT: "webhook" }, "MESSAGE_WEBHOOK_URL"],
  ])("a bad setting stops start-up naming the variable (%o)", async (env, variable) => {
    const r = await run([], { DATA_DIR: "memory://", ...env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(variable);
    expect(r.stdout).not.toContain("listening");
  });
});
