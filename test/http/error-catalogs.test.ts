// Every feature's error catalog has the one shape (code → status → message), every feature that
// has a catalog names it in its module, and nothing in src/ throws an AppError outside them.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AppError, ERROR_STATUS, HTTP_ERRORS, defineErrors, type ErrorCatalog, type ErrorEntry } from "../../src/http/errors";

const SRC = join(import.meta.dir, "../../src");
const features = readdirSync(SRC, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
// src/openapi/errors.ts documents the error responses of every operation; it is no catalog.
const hasFile = (dir: string, file: string) => !(dir === "openapi" && file === "errors.ts") && readdirSync(join(SRC, dir)).includes(file);

const isEntry = (v: unknown): v is ErrorEntry => typeof v === "function" && typeof (v as ErrorEntry).code === "string" && "status" in (v as object);
const isCatalog = (v: unknown): v is ErrorCatalog => !!v && typeof v === "object" && Object.values(v).length > 0 && Object.values(v).every(isEntry);

async function catalogsOf(file: string): Promise<[string, ErrorCatalog][]> {
  const mod = (await import(file)) as Record<string, unknown>;
  return Object.entries(mod).filter((e): e is [string, ErrorCatalog] => isCatalog(e[1]));
}

const catalogs: [string, ErrorCatalog][] = [["http HTTP_ERRORS", HTTP_ERRORS]];
for (const f of features.filter((f) => hasFile(f, "errors.ts"))) {
  for (const [name, c] of await catalogsOf(join(SRC, f, "errors.ts"))) catalogs.push([`${f} ${name}`, c]);
}

describe("error catalogs", () => {
  test("every feature folder with an errors.ts exports a catalog, and there are several", () => {
    expect(catalogs.length).toBeGreaterThanOrEqual(10);
    for (const f of features.filter((f) => hasFile(f, "errors.ts"))) {
      expect(
        catalogs.some(([n]) => n.startsWith(`${f} `)),
        `${f}/errors.ts exports no catalog`,
      ).toBe(true);
    }
  });

  for (const [name, catalog] of catalogs) {
    test(`${name}: codes are its keys, statuses valid, messages unique`, () => {
      const seen = new Set<string>();
      for (const [key, entry] of Object.entries(catalog)) {
        expect(entry.code).toBe(key);
        expect(key).toMatch(/^[A-Z][A-Z0-9_]*$/);
        expect(Object.keys(ERROR_STATUS)).toContain(entry.status);
        if (typeof entry.message === "string") {
          expect(entry.message.length).toBeGreaterThan(0);
          const said = `${entry.status} ${entry.message}`;
          expect(seen.has(said), `${key} repeats another entry`).toBe(false);
          seen.add(said);
          const err = (entry as ErrorEntry<string>)();
          expect(err).toBeInstanceOf(AppError);
          expect([err.code, err.message]).toEqual([entry.status, entry.message]);
        } else {
          expect(typeof entry.message).toBe("function");
        }
      }
    });
  }

  test("each feature module names the catalog of its folder", async () => {
    for (const f of features.filter((f) => hasFile(f, "errors.ts") && hasFile(f, "feature.ts"))) {
      const own = (await catalogsOf(join(SRC, f, "errors.ts"))).map(([, c]) => c);
      const mod = (await import(join(SRC, f, "feature.ts"))) as Record<string, { name?: unknown; errors?: unknown }>;
      const feature = Object.values(mod).find((v) => v && typeof v === "object" && typeof v.name === "string");
      expect(feature, `${f}/feature.ts exports no feature`).toBeDefined();
      expect(own, `${f}/feature.ts: errors is not its catalog`).toContain(feature!.errors as ErrorCatalog);
    }
  });

  test("dynamic messages take their arguments; headers travel with withHeaders", () => {
    const demo = defineErrors({
      FIXED: { status: "RATE_LIMITED", message: "slow down" },
      MADE: { status: "NOT_FOUND", message: (id: string) => `no ${id}` },
    });
    expect(demo.MADE("x").message).toBe("no x");
    expect(demo.MADE.message("y")).toBe("no y");
    const limited = demo.FIXED.withHeaders({ "Retry-After": "3" });
    expect([limited.code, limited.message, limited.headers]).toEqual(["RATE_LIMITED", "slow down", { "Retry-After": "3" }]);
    expect(demo.FIXED().headers).toEqual({});
  });

  test("no AppError is built outside the catalogs (src/http/errors.ts; the OpenAPI examples)", () => {
    const allowed = new Set(["http/errors.ts", "openapi/errors.ts"]);
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const d of readdirSync(join(SRC, dir), { withFileTypes: true })) {
        const rel = dir ? `${dir}/${d.name}` : d.name;
        if (d.isDirectory()) walk(rel);
        else if (rel.endsWith(".ts") && !allowed.has(rel) && readFileSync(join(SRC, rel), "utf8").includes("new AppError(")) offenders.push(rel);
      }
    };
    walk("");
    expect(offenders).toEqual([]);
  });
});
