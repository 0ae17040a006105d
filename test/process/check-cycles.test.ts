// The import-cycle check CI runs (scripts/check-cycles.ts), on small trees written here: it must
// fail on a value cycle, a type-only cycle and a re-export cycle, and pass a tree without one.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { findCycles } from "../../scripts/check-cycles";

const script = join(import.meta.dir, "../../scripts/check-cycles.ts");
const work = mkdtempSync(join(tmpdir(), "chatgate-cycles-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function tree(name: string, files: Record<string, string>): string {
  const root = join(work, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

async function run(root: string): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn([process.execPath, script, root], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(proc.stdout).text();
  return { code: await proc.exited, out };
}

const cyclic = tree("cyclic", {
  // A value cycle through a directory index: a → b/index → a.
  "a.ts": 'import { b } from "./b";\nexport const a = () => b;\n',
  "b/index.ts": 'import { a } from "../a";\nexport const b = () => a;\n',
  // A cycle made only of types: erased at run time, but it still ties the two modules together.
  "kernel/core.ts": 'import type { Feature } from "../feature/module";\nexport interface Core { features: Feature[] }\n',
  "feature/module.ts": 'import type { Core } from "../kernel/core";\nexport interface Feature { setup(core: Core): void }\n',
  // Re-exports count: x re-exports y, y imports x (with a `.js` suffix, as ESM code writes it).
  "x.ts": 'export * from "./y";\nexport const x = 1;\n',
  "y.ts": 'import { x } from "./x.js";\nexport const y = x + 1;\n',
  // Not part of any cycle: imports one, is imported by none.
  "leaf.ts": 'import { a } from "./a";\nimport { readFileSync } from "node:fs";\nexport const leaf = [a, readFileSync];\n',
});

const acyclic = tree("acyclic", {
  // A diamond and a type import down the layers, but no way back up.
  "app.ts": 'import { left } from "./left";\nimport { right } from "./right";\nexport const app = [left, right];\n',
  "left.ts": 'import { base } from "./shared";\nexport const left = base;\n',
  "right.ts": 'import type { Base } from "./shared";\nimport { base } from "./shared/index.ts";\nexport const right: Base = base;\n',
  "shared/index.ts": "export type Base = number;\nexport const base: Base = 1;\n",
});

describe("import-cycle check", () => {
  test("finds the value, type-only and re-export cycles, each with its files and a loop", () => {
    const cycles = findCycles(cyclic);
    expect(cycles.map((c) => c.files)).toEqual([
      ["a.ts", "b/index.ts"],
      ["feature/module.ts", "kernel/core.ts"],
      ["x.ts", "y.ts"],
    ]);
    expect(cycles[0]!.loop).toEqual(["a.ts", "b/index.ts", "a.ts"]);
    expect(cycles[1]!.edges).toEqual({ "feature/module.ts": ["kernel/core.ts"], "kernel/core.ts": ["feature/module.ts"] });
  });

  test("a longer cycle is one component with a loop through all of it", () => {
    const root = tree("ring", {
      "one.ts": 'import "./two";\n',
      "two.ts": 'import "./three";\n',
      "three.ts": 'export { one } from "./one";\n',
      "self.ts": 'import { me } from "./self";\nexport const me = 1;\n',
    });
    expect(findCycles(root)).toEqual([
      {
        files: ["one.ts", "three.ts", "two.ts"],
        loop: ["one.ts", "two.ts", "three.ts", "one.ts"],
        edges: { "one.ts": ["two.ts"], "three.ts": ["one.ts"], "two.ts": ["three.ts"] },
      },
      { files: ["self.ts"], loop: ["self.ts", "self.ts"], edges: { "self.ts": ["self.ts"] } },
    ]);
  });

  test("the CLI exits 1 and names every file of every cycle", async () => {
    const { code, out } = await run(cyclic);
    expect(code).toBe(1);
    for (const file of ["a.ts", "b/index.ts", "kernel/core.ts", "feature/module.ts", "x.ts", "y.ts"]) expect(out).toContain(`  ${file} → `);
    expect(out).not.toContain("leaf.ts");
    expect(out).toContain("3 import cycle(s)");
  });

  test("a tree without cycles passes", async () => {
    expect(findCycles(acyclic)).toEqual([]);
    const { code, out } = await run(acyclic);
    expect(code).toBe(0);
    expect(out).toContain("no import cycles");
  });
});
