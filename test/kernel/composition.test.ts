// The composition rules of docs/ARCHITECTURE.md, checked on the source: every feature is listed in
// src/app.ts, and the kernel imports no feature.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";

const SRC = join(import.meta.dir, "../../src");
// src/kernel/feature.ts is the contract itself, not a feature.
const featureDirs = readdirSync(SRC).filter((d) => d !== "kernel" && existsSync(join(SRC, d, "feature.ts")));
const app = readFileSync(join(SRC, "app.ts"), "utf8");

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:import|export)[^"']*?from\s*["']([^"']+)["']/g)].map((m) => m[1]!);
}

describe("composition", () => {
  test("there are features, and each is listed in src/app.ts for its setup and its routes", async () => {
    expect(featureDirs.length).toBeGreaterThanOrEqual(12);
    for (const dir of featureDirs) {
      const mod = (await import(join(SRC, dir, "feature.ts"))) as Record<string, { name?: string; setup?: unknown; routes?: unknown }>;
      const [exportName, feature] = Object.entries(mod).find(([k]) => k.endsWith("Feature"))!;
      expect(feature.name, dir).toBe(dir);
      expect(app, `${exportName} imported`).toContain(`from "./${dir}/feature"`);
      if (feature.setup) expect(app, `${exportName}.setup`).toContain(`${exportName}.setup!(core`);
      if (feature.routes) expect(app, `${exportName}.routes`).toContain(`${exportName}.routes!(ctx`);
    }
  });

  test("the kernel imports no feature", () => {
    const features = new Set(featureDirs);
    const kernel = join(SRC, "kernel");
    for (const f of readdirSync(kernel)) {
      if (!statSync(join(kernel, f)).isFile()) continue;
      for (const spec of importsOf(join(kernel, f))) {
        const top = spec.startsWith("../") ? spec.slice(3).split("/")[0]! : "";
        expect(features.has(top), `${f} imports ${spec}`).toBe(false);
      }
    }
  });

  test("infrastructure (db, http, ops) imports no feature", () => {
    const features = new Set(featureDirs);
    for (const layer of ["db", "http", "ops"]) {
      for (const f of readdirSync(join(SRC, layer), { recursive: true }) as string[]) {
        const path = join(SRC, layer, f);
        if (!f.endsWith(".ts") || !statSync(path).isFile() || f.startsWith("schema/")) continue;
        for (const spec of importsOf(path)) {
          const top = spec.startsWith("../") ? spec.slice(3).split("/")[0]! : "";
          expect(features.has(top), `${layer}/${f} imports ${spec}`).toBe(false);
        }
      }
    }
  });
});
