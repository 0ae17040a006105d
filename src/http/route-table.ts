// What the core needs to know about a route before Elysia validates its input: which guard it
// declared, which body schema, which media types it takes, which error family its group declared,
// and which methods each path allows.
// Elysia runs global parse/transform hooks before a route's own hooks and validates right
// after, so the facts are read once from the finished app's route list rather than from hooks.
import type { TSchema } from "@sinclair/typebox";
import { FORM, GUARD, INVALID_400, type AuthOptions } from "../kernel/guard";
import { FAMILY, type Family } from "./errors";
import type { RequestIpSource } from "../kernel/principal";

export interface RouteFacts {
  guard?: AuthOptions;
  body?: TSchema;
  form: boolean;
  invalidAs400: boolean;
  /** The error body family its route group declared (`errorFamily`), if any. */
  family?: Family;
}

interface RouteLike {
  method: string;
  path: string;
  hooks: Record<string, unknown>;
}

interface AppLike {
  routes: RouteLike[];
  server?: RequestIpSource | null;
}

type Tagged = { [GUARD]?: AuthOptions; [FORM]?: boolean; [INVALID_400]?: boolean; [FAMILY]?: Family };

/** The error family a route's group declared (see `errorFamily` in ./errors). */
export function declaredFamily(hooks: Record<string, unknown>): Family | undefined {
  return hookFns(hooks).find((f) => f[FAMILY])?.[FAMILY];
}

function hookFns(hooks: Record<string, unknown>): Tagged[] {
  const out: Tagged[] = [];
  for (const key of ["parse", "transform", "beforeHandle"]) {
    const v = hooks[key];
    for (const h of Array.isArray(v) ? v : v ? [v] : []) {
      const fn = typeof h === "function" ? h : (h as { fn?: unknown })?.fn;
      if (typeof fn === "function") out.push(fn as Tagged);
    }
  }
  return out;
}

// Elysia answers a path with or without its trailing slash, so the pattern ignores it too.
function pathPattern(path: string): RegExp {
  const parts = path
    .replace(/\/+$/, "")
    .split("/")
    .map((seg) => {
      if (seg === "*") return ".*";
      if (seg.startsWith(":")) return seg.endsWith("?") ? "[^/]*" : "[^/]+";
      return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    });
  return new RegExp(`^${parts.join("/")}/?$`);
}

const segmentsOf = (path: string) => path.replace(/\/+$/, "").split("/").slice(1);

/** How many leading segments of a request path a route pattern matches (`:param` matches any). */
function sharedSegments(path: string[], route: string[]): number {
  let n = 0;
  for (; n < path.length && n < route.length; n++) {
    const seg = route[n]!;
    if (seg === "*") return path.length;
    if (!seg.startsWith(":") && seg !== path[n]) break;
  }
  return n;
}

export class RouteTable {
  private app?: AppLike;
  // By method, then route pattern: the request's own strings, no key built per request.
  private facts?: Map<string, Map<string, RouteFacts>>;
  private patterns?: { re: RegExp; methods: Set<string> }[];
  private families?: { segments: string[]; family: Family }[];

  /** Called once the app has all its routes. */
  bind(app: AppLike): void {
    this.app = app;
    this.facts = undefined;
    this.patterns = undefined;
    this.families = undefined;
  }

  /** The finished app's server (null until it listens; replaced on a certificate reload). */
  get server(): RequestIpSource | null {
    return this.app?.server ?? null;
  }

  get(method: string, route: string): RouteFacts | undefined {
    const facts = this.build();
    // Elysia answers HEAD with the GET route's handler and hooks, so it gets that route's facts.
    return facts.get(method)?.get(route) ?? (method === "HEAD" ? facts.get("GET")?.get(route) : undefined);
  }

  /** Methods the path allows, or undefined when no route has this path at all. */
  allowed(path: string): string[] | undefined {
    if (!this.patterns) {
      const byPath = new Map<string, Set<string>>();
      for (const r of this.app?.routes ?? []) {
        if (r.method === "ALL") continue;
        const set = byPath.get(r.path) ?? new Set<string>();
        set.add(r.method);
        byPath.set(r.path, set);
      }
      this.patterns = [...byPath].map(([p, methods]) => ({ re: pathPattern(p), methods }));
    }
    const methods = new Set<string>();
    for (const p of this.patterns) if (p.re.test(path)) for (const m of p.methods) methods.add(m);
    if (methods.size === 0) return undefined;
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort();
  }

  /**
   * The error family of a request no route answered (404, 405, an early 413): the families
   * declared by the routes that share the most leading path segments with it, when they agree;
   * `detail` otherwise (and for paths sharing nothing).
   */
  familyFor(path: string): Family {
    if (!this.families) {
      this.families = [];
      for (const r of this.app?.routes ?? []) {
        const family = declaredFamily(r.hooks);
        if (family) this.families.push({ segments: segmentsOf(r.path), family });
      }
    }
    const wanted = segmentsOf(path);
    let best = 0;
    let found = new Set<Family>();
    for (const r of this.families) {
      const n = sharedSegments(wanted, r.segments);
      if (n === 0 || n < best) continue;
      if (n > best) (best = n), (found = new Set());
      found.add(r.family);
    }
    return found.size === 1 ? [...found][0]! : "detail";
  }

  private build(): Map<string, Map<string, RouteFacts>> {
    if (this.facts) return this.facts;
    const models = ((this.app as { definitions?: { type?: Record<string, TSchema> } } | undefined)?.definitions?.type ?? {}) as Record<string, TSchema>;
    const facts = new Map<string, Map<string, RouteFacts>>();
    for (const r of this.app?.routes ?? []) {
      const fns = hookFns(r.hooks);
      const guard = fns.find((f) => f[GUARD])?.[GUARD];
      const form = fns.some((f) => f[FORM]);
      const invalidAs400 = fns.some((f) => f[INVALID_400]);
      const b = r.hooks.body;
      const body = typeof b === "string" ? models[b] : (b as TSchema | undefined);
      const family = fns.find((f) => f[FAMILY])?.[FAMILY];
      let byPath = facts.get(r.method);
      if (!byPath) facts.set(r.method, (byPath = new Map()));
      byPath.set(r.path, { guard, body, form, invalidAs400, family });
    }
    if (this.app) this.facts = facts;
    return facts;
  }
}
