/**
 * The embedded database's folder is private to this process's user, as Postgres keeps PGDATA:
 * the folder 0700, every file in it 0600, whatever the umask chatgate was started with.
 *
 * Why a chmod guard: PGlite's Emscripten NODEFS creates each file and then chmods it to the mode
 * Postgres asked for inside wasm, where there is no umask, so nearly every file (WAL included)
 * ended up 0666. Files created later (new WAL segments, relations) go the same way, so one chmod
 * pass at start is not enough: every chmod under a guarded folder is masked to owner-only.
 */
import fs, { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join, resolve, sep } from "node:path";

const OTHERS = 0o077;

export class DataDirError extends Error {}

/** The absolute folder for a DATA_DIR value (`file://` accepted). */
export function resolveDataDir(dataDir: string): string {
  return resolve(dataDir.startsWith("file://") ? dataDir.slice(7) : dataDir);
}

/** Where a generated master secret is kept for this data dir: beside it, never inside it. */
export function secretFilePath(dataDir: string): string {
  return `${resolveDataDir(dataDir)}.jwt-secret`;
}

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, "0");

/** Refuses a path that other users can reach, naming it and the fix. */
export function assertPrivate(path: string, what: string, fix: string): void {
  const mode = statSync(path).mode;
  if ((mode & OTHERS) !== 0) {
    throw new DataDirError(`${what} ${path} is accessible by other users (mode ${octal(mode)}); it must be private to the user running chatgate. Fix: ${fix}`);
  }
}

const guarded = new Set<string>();
let guardInstalled = false;

/** Masks every chmod under a guarded folder to owner-only (see the header comment). */
function installChmodGuard(): void {
  if (guardInstalled) return;
  guardInstalled = true;
  const original = fs.chmodSync;
  const masked = (path: fs.PathLike, mode: fs.Mode) => {
    const p = resolve(String(path));
    const inside = [...guarded].some((root) => p === root || p.startsWith(root + sep));
    const m = typeof mode === "number" ? mode : parseInt(mode, 8);
    return original(path, inside ? m & ~OTHERS : mode);
  };
  // PGlite reads `fs.chmodSync` off the module object at each call, so replacing it there is enough.
  (fs as { chmodSync: typeof fs.chmodSync }).chmodSync = masked;
  // fchmod has no path to check: owner-only for every caller (chatgate itself never fchmods).
  const originalF = fs.fchmodSync;
  (fs as { fchmodSync: typeof fs.fchmodSync }).fchmodSync = (fd, mode) => originalF(fd, (typeof mode === "number" ? mode : parseInt(mode, 8)) & ~OTHERS);
}

/** Tightens whatever an older version left group- or world-accessible inside the folder. */
function tightenTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    const st = lstatSync(p);
    if (st.isSymbolicLink()) continue;
    if ((st.mode & OTHERS) !== 0) chmodSync(p, st.isDirectory() ? 0o700 : 0o600);
    if (st.isDirectory()) tightenTree(p);
  }
}

/**
 * Makes the data folder ready before PGlite touches it: umask 0077 for the process, the folder
 * created 0700 or refused when others can reach it, loose files inside tightened, chmods guarded.
 */
export function prepareDataDir(dataDir: string): string {
  const dir = resolveDataDir(dataDir);
  // For the whole process: nothing chatgate writes is meant for other users.
  process.umask(OTHERS);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new DataDirError(`data directory ${dir} is not a directory`);
    assertPrivate(dir, "data directory", `chmod -R go-rwx ${dir}`);
  } else {
    mkdirSync(dir, { recursive: true, mode: 0o700 }); // PGlite's NodeFS mkdir isn't recursive
  }
  installChmodGuard();
  guarded.add(dir);
  tightenTree(dir);
  return dir;
}
