// chatgate under test, on one database: embedded PGlite in a temp data dir, or a throw-away
// database created on the bench Postgres (dropped at the end). Starts, restarts and times the
// compiled binary; the bench runs every row once per target.
import { join } from "node:path";
import postgres from "postgres";
import type { Location } from "./growth";
import { spawnTracked, waitReady, type Started } from "./procs";

export interface Target {
  label: "PGlite" | "Postgres";
  /** For the header: where the data lives. */
  describe: string;
  location: Location;
  env: Record<string, string>;
  /** Drops what the target created. */
  dispose(): Promise<void>;
}

export function pgliteTarget(tmp: string): Target {
  const dataDir = join(tmp, "pglite-data");
  return { label: "PGlite", describe: `PGlite in ${dataDir}`, location: { dataDir }, env: { DATA_DIR: dataDir }, dispose: async () => {} };
}

/** A fresh database on the server of `url`; needs CREATEDB (the local test server's postgres user has it). */
export async function postgresTarget(url: string, source: string): Promise<Target> {
  const name = `chatgate_bench_${Date.now().toString(36)}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  const databaseUrl = u.href;
  return {
    label: "Postgres",
    describe: `Postgres ${u.host}/${name} (${source}; created for this run, dropped at the end)`,
    location: { databaseUrl },
    env: { DATABASE_URL: databaseUrl },
    async dispose() {
      const a = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await a.end();
      }
    },
  };
}

/** Spawns the binary and waits for `/readyz` 200; `ms` is spawn → ready. */
export async function startBinary(binary: string, env: Record<string, string>, cwd: string, base: string): Promise<{ p: Started; ms: number }> {
  const p = spawnTracked("chatgate", [binary, "serve"], env, cwd);
  return { p, ms: await waitReady(`${base}/readyz`, p, 120_000) };
}
