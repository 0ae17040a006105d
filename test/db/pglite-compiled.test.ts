import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPglite } from "../../src/db/pglite";

const tmpRoots: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `chatgate-${prefix}-`));
  tmpRoots.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tmpRoots) rmSync(dir, { recursive: true, force: true });
});

describe("openPglite (in process)", () => {
  test("memory:// databases work and are isolated from each other", async () => {
    const a = await openPglite("memory://");
    const b = await openPglite("memory://"); // second open: from the cached template
    try {
      expect((await a.query<{ x: number }>("select 1 as x")).rows).toEqual([{ x: 1 }]);
      await a.exec("create table t (v text); insert into t values ('a')");
      expect((await a.query<{ v: string }>("select v from t")).rows).toEqual([{ v: "a" }]);
      const seen = await b.query<{ n: number }>("select count(*)::int as n from pg_tables where tablename = 't'");
      expect(seen.rows).toEqual([{ n: 0 }]);
    } finally {
      await a.close();
      await b.close();
    }
    expect(a.closed && b.closed).toBe(true);
  }, 30_000);

  test("a folder database is created (nested) and persists across reopen", async () => {
    const dir = join(tempDir("pgdir"), "nested", "data");
    const first = await openPglite(dir);
    try {
      expect((await first.query<{ x: number }>("select 1 as x")).rows).toEqual([{ x: 1 }]);
      await first.exec("create table t (v text); insert into t values ('kept')");
    } finally {
      await first.close();
    }
    const second = await openPglite(dir);
    try {
      expect((await second.query<{ v: string }>("select v from t")).rows).toEqual([{ v: "kept" }]);
    } finally {
      await second.close();
    }
  }, 30_000);
});

describe("openPglite in a bun build --compile binary", () => {
  test("runs from an empty cwd with only the binary and persists data", async () => {
    const buildDir = tempDir("pgbuild");
    const probe = join(buildDir, "pg-probe");
    const entry = join(import.meta.dir, "fixtures", "pglite-entry.ts");
    const build = Bun.spawnSync([process.execPath, "build", entry, "--compile", "--minify", "--sourcemap", "--outfile", probe], { stdout: "pipe", stderr: "pipe" });
    expect(build.exitCode, build.stderr.toString()).toBe(0);

    // Fresh dir holding ONLY the binary: no node_modules, wasm or data files.
    const runDir = tempDir("pgrun");
    copyFileSync(probe, join(runDir, "pg-probe"));
    const run = async (dataDir: string): Promise<unknown> => {
      const proc = Bun.spawn([join(runDir, "pg-probe"), dataDir], {
        cwd: runDir,
        stdout: "pipe",
        stderr: "pipe",
        timeout: 60_000, // a PGlite that doesn't close would hang here
      });
      const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      expect(code, err).toBe(0);
      return JSON.parse(out.trim());
    };

    expect(await run("data")).toEqual({ count: 1 }); // relative to cwd = runDir
    expect(await run("data")).toEqual({ count: 2 });
    expect(await run("memory://")).toEqual({ count: 1 });
    expect(readdirSync(runDir).sort()).toEqual(["data", "pg-probe"]);
  }, 120_000);
});
