/**
 * PGlite that works the same under `bun run` and inside a `bun build --compile`
 * single executable started from any cwd with nothing beside it.
 *
 * Why: by default PGlite locates pglite.wasm / initdb.wasm / pglite.data with
 * `new URL('./x', import.meta.url)` and, because Bun reports itself as Node,
 * reads them with `fs.readFile`. In a compiled binary `import.meta.url` points
 * into the virtual $bunfs, where those files don't exist (they're not imported,
 * so they're not embedded) -> ENOENT at startup. So we import the three assets
 * with `{ type: 'file' }` (Bun embeds them in the binary and hands us a path
 * that `Bun.file()` can read, in dev a node_modules path) and pass them in via
 * `pgliteWasmModule`, `initdbWasmModule` and `fsBundle`; PGlite then never
 * touches the filesystem for its own assets. One code path for dev and binary.
 */
import { PGlite } from "@electric-sql/pglite";
import { prepareDataDir } from "./data-dir";
// Non-TS assets: Bun's `type: 'file'` import yields a path string.
// @ts-expect-error -- no type declarations for .wasm/.data files
import pgliteWasmPath from "@electric-sql/pglite/pglite.wasm" with { type: "file" };
// @ts-expect-error -- no type declarations for .wasm/.data files
import initdbWasmPath from "@electric-sql/pglite/initdb.wasm" with { type: "file" };
// @ts-expect-error -- no type declarations for .wasm/.data files
import fsBundlePath from "@electric-sql/pglite/pglite.data" with { type: "file" };

export interface Assets {
  pgliteWasmModule: WebAssembly.Module;
  initdbWasmModule: WebAssembly.Module;
  fsBundle: Blob;
}

// Module-scope cache: compile the wasm (~9 MB) once per process, not per open.
let assets: Promise<Assets> | undefined;

async function compileAsset(path: string): Promise<WebAssembly.Module> {
  return WebAssembly.compile(await Bun.file(path).arrayBuffer());
}

export function loadAssets(): Promise<Assets> {
  assets ??= (async (): Promise<Assets> => {
    const [pgliteWasmModule, initdbWasmModule, data] = await Promise.all([
      compileAsset(pgliteWasmPath as string),
      compileAsset(initdbWasmPath as string),
      Bun.file(fsBundlePath as string).arrayBuffer(),
    ]);
    return { pgliteWasmModule, initdbWasmModule, fsBundle: new Blob([data]) };
  })().catch((err: unknown) => {
    assets = undefined; // allow a retry after a transient failure
    throw err;
  });
  return assets;
}

// memory:// opens: initdb costs ~1 s per database. So the first in-memory
// database is initdb'ed normally and its fresh data dir is dumped (~40 MB tar,
// kept only once memory:// is used); later ones start from that tarball via
// `loadDataDir` (~0.25 s), the way PGlite's own clone() works.
let memoryTemplate: Promise<Blob> | undefined;

/** The fresh data dir memory:// opens start from, once one was made (a worker hands it back). */
export function memoryTemplateOf(): Promise<Blob> | undefined {
  return memoryTemplate;
}

async function openMemory(a: Assets, given?: Blob): Promise<PGlite> {
  if (given) memoryTemplate ??= Promise.resolve(given);
  if (memoryTemplate) {
    return PGlite.create({ dataDir: "memory://", ...a, loadDataDir: await memoryTemplate });
  }
  const first = PGlite.create({ dataDir: "memory://", ...a });
  const template = first.then((db) => db.dumpDataDir("none"));
  memoryTemplate = template;
  try {
    await template;
  } catch (err) {
    memoryTemplate = undefined;
    await first.then((db) => db.close()).catch(() => undefined);
    throw err;
  }
  return first;
}

/**
 * Open a PGlite database. `dataDir` is a filesystem folder (created if
 * missing, persistent) or `memory://` for a throw-away in-memory database.
 * Caller must `await db.close()`.
 */
export async function openPglite(dataDir: string, given?: { assets?: Assets; memoryTemplate?: Blob }): Promise<PGlite> {
  if (!dataDir) throw new Error("openPglite: dataDir is required (folder or memory://)");
  // The worker gets assets compiled once by the main thread: WebAssembly modules cross postMessage.
  const a = given?.assets ?? (await loadAssets());
  if (dataDir.startsWith("memory://")) {
    return openMemory(a, given?.memoryTemplate);
  }
  // Before PGlite writes anything: 0700 folder, owner-only files (see data-dir.ts).
  const dir = prepareDataDir(dataDir);
  return PGlite.create({ dataDir: dir, ...a });
}
