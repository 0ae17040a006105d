// Import cycles under a source root (default `src`), run in CI: `npx bun run scripts/check-cycles.ts [root]`.
// Every static `import`, `import type` and `export ... from` with a relative specifier is an edge:
// a type-only cycle still ties the modules together, so a feature that imports the kernel's types
// while the kernel imports the feature's is reported too. Strongly connected components (Tarjan)
// give every cycle at once; each is printed with its files and one loop through them. Exit 1 if any.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const SOURCE = /\.(ts|tsx|mts|cts)$/;
const SKIP_DIRS = new Set(["node_modules", ".git", "dist"]);

export interface Cycle {
  /** Files of one strongly connected component, relative to the root, sorted. */
  files: string[];
  /** One closed import path through the component: first file repeated at the end. */
  loop: string[];
  /** Each file's imports that stay inside the component: the edges to cut. */
  edges: Record<string, string[]>;
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) sourceFiles(path, out);
    } else if (SOURCE.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** Relative specifiers of every static import and re-export, type-only ones included. */
export function importSpecifiers(fileName: string, text: string): string[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false);
  const specs: string[] = [];
  for (const node of file.statements) {
    let spec: ts.Expression | undefined;
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) spec = node.moduleSpecifier;
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) spec = node.moduleReference.expression;
    if (spec && ts.isStringLiteral(spec) && spec.text.startsWith(".")) specs.push(spec.text);
  }
  return specs;
}

/** `./x` → `x.ts`, `x.tsx`, `x/index.ts`; `./x.js` → `x.ts` too. Non-source targets (JSON) are no nodes. */
function resolveImport(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  const stem = base.replace(/\.(js|jsx|mjs|cjs)$/, "");
  const candidates = [base, `${stem}.ts`, `${stem}.tsx`, join(base, "index.ts"), join(base, "index.tsx")];
  return candidates.find((c) => SOURCE.test(c) && existsSync(c) && statSync(c).isFile());
}

/** Tarjan's strongly connected components, iterative so deep import chains cannot overflow the stack. */
function stronglyConnected(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: { node: string; edge: number }[] = [{ node: start, edge: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const edges = graph.get(frame.node) ?? [];
      if (frame.edge < edges.length) {
        const to = edges[frame.edge++]!;
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}

/** Shortest import path from `start` back to itself, staying inside the component. */
function shortestLoop(graph: Map<string, string[]>, members: Set<string>, start: string): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i]!;
    for (const to of graph.get(node) ?? []) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path = [start];
        for (let at: string | undefined = node; at !== undefined && at !== start; at = previous.get(at)) path.unshift(at);
        return [start, ...path];
      }
      if (!previous.has(to)) {
        previous.set(to, node);
        queue.push(to);
      }
    }
  }
  return [start];
}

export function findCycles(rootDir: string): Cycle[] {
  const root = resolve(rootDir);
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(root).sort()) {
    const targets = importSpecifiers(file, readFileSync(file, "utf8"))
      .map((spec) => resolveImport(file, spec))
      .filter((t): t is string => t !== undefined && !relative(root, t).startsWith(".."));
    graph.set(file, [...new Set(targets)].sort());
  }
  const rel = (f: string) => relative(root, f);
  return stronglyConnected(graph)
    .filter((c) => c.length > 1 || (graph.get(c[0]!) ?? []).includes(c[0]!))
    .map((component) => {
      const files = [...component].sort();
      const members = new Set(component);
      const edges = Object.fromEntries(files.map((f) => [rel(f), (graph.get(f) ?? []).filter((t) => members.has(t)).map(rel)]));
      return { files: files.map(rel), loop: shortestLoop(graph, members, files[0]!).map(rel), edges };
    })
    .sort((a, b) => b.files.length - a.files.length || a.files[0]!.localeCompare(b.files[0]!));
}

if (import.meta.main) {
  const root = process.argv[2] ?? "src";
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    console.error(`check-cycles: ${root} is not a directory`);
    process.exit(2);
  }
  const cycles = findCycles(root);
  if (cycles.length === 0) {
    console.log(`check-cycles: no import cycles under ${root}`);
    process.exit(0);
  }
  for (const [i, cycle] of cycles.entries()) {
    console.log(`cycle ${i + 1}: ${cycle.files.length} files`);
    console.log(`  loop: ${cycle.loop.join(" → ")}`);
    for (const file of cycle.files) console.log(`  ${file} → ${cycle.edges[file]!.join(", ")}`);
  }
  console.log(`check-cycles: ${cycles.length} import cycle(s) under ${root}`);
  process.exit(1);
}
