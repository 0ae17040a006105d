// Every route the app documents, read from its own OpenAPI document, with a request that passes
// validation: the hostile-input suites run against whatever routes exist when they run.
import type { Family } from "../../src/http/errors";
import { familyOfPath as familyOf } from "../http/path-families";
import type { TestApp } from "../helpers";

type Schema = Record<string, any>;

export interface RouteSpec {
  method: string;
  /** The documented path, e.g. `/api/contacts/{id}`. */
  template: string;
  /** The path with sample parameters and required query parameters filled in. */
  path: string;
  secured: boolean;
  /** The operation documents `X-API-Key` as a way in. */
  apiKeyDoc: boolean;
  family: Family;
  /** Media type and a schema-valid sample body, when the operation takes one. */
  body?: { type: string; schema: Schema; sample: unknown };
  query: { name: string; required: boolean; schema: Schema }[];
  doc: Schema;
}

const METHODS = ["get", "post", "put", "patch", "delete"];

export async function openApiDoc(t: TestApp): Promise<Schema> {
  const res = await t.request("GET", "/swagger/json");
  if (res.status !== 200) throw new Error(`/swagger/json answered ${res.status}`);
  return (await res.json()) as Schema;
}

export function resolveRef(doc: Schema, s: Schema | undefined): Schema {
  let cur = s ?? {};
  for (let i = 0; i < 10 && typeof cur.$ref === "string"; i++) {
    const name = cur.$ref.replace(/^#\/components\/schemas\//, "");
    cur = doc.components?.schemas?.[name] ?? {};
  }
  return cur;
}

function firstType(s: Schema): string | undefined {
  if (Array.isArray(s.type)) return s.type.find((x: string) => x !== "null");
  return s.type;
}

const STRING_CANDIDATES = () => [crypto.randomUUID(), "sample", "abc", "1", "a@example.test", "2099-01-01T00:00:00.000Z", "read"];

/** A value the schema accepts (best effort: formats, enums, lengths, patterns, bounds). */
export function sampleValid(doc: Schema, schema: Schema | undefined, depth = 0): unknown {
  const s = resolveRef(doc, schema);
  if (depth > 8) return null;
  if ("const" in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  if ("default" in s && s.default !== undefined) return s.default;
  const alt = s.anyOf ?? s.oneOf;
  if (Array.isArray(alt)) {
    const pick = alt.map((a: Schema) => resolveRef(doc, a)).find((a: Schema) => firstType(a) !== "null" && a.type !== "null") ?? alt[0];
    return sampleValid(doc, pick, depth + 1);
  }
  if (Array.isArray(s.allOf)) return Object.assign({}, ...s.allOf.map((a: Schema) => sampleValid(doc, a, depth + 1)));
  switch (firstType(s) ?? (s.properties ? "object" : undefined)) {
    case "string": {
      if (s.format === "uuid") return crypto.randomUUID();
      if (s.format === "date-time") return new Date(Date.now() + 86400_000).toISOString();
      if (s.format === "email") return `sample-${crypto.randomUUID().slice(0, 8)}@example.test`;
      const min = s.minLength ?? 0;
      const max = s.maxLength ?? Infinity;
      const re = typeof s.pattern === "string" ? new RegExp(s.pattern, "u") : undefined;
      const fits = (v: string) => v.length >= min && v.length <= max && (!re || re.test(v));
      return STRING_CANDIDATES().find(fits) ?? "x".repeat(Math.max(min, 1));
    }
    case "integer":
    case "number": {
      const lo = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
      return Math.min(lo, s.maximum ?? lo);
    }
    case "boolean":
      return true;
    case "array":
      return Array.from({ length: s.minItems ?? 1 }, () => sampleValid(doc, s.items, depth + 1));
    case "object": {
      const out: Record<string, unknown> = {};
      for (const k of s.required ?? []) out[k] = sampleValid(doc, s.properties?.[k], depth + 1);
      return out;
    }
    default:
      return "sample";
  }
}

function bodyOf(doc: Schema, op: Schema): RouteSpec["body"] {
  const content = op.requestBody?.content as Record<string, { schema?: Schema }> | undefined;
  if (!content) return undefined;
  const type = ["application/json", "application/x-www-form-urlencoded"].find((m) => m in content) ?? Object.keys(content)[0]!;
  const schema = resolveRef(doc, content[type]?.schema);
  return { type, schema, sample: sampleValid(doc, schema) };
}

export function routesOf(doc: Schema): RouteSpec[] {
  const out: RouteSpec[] = [];
  for (const [template, ops] of Object.entries<Schema>(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = ops[method];
      if (!op) continue;
      const params: Schema[] = [...(ops.parameters ?? []), ...(op.parameters ?? [])];
      let path = template;
      const query: RouteSpec["query"] = [];
      const search = new URLSearchParams();
      for (const p of params) {
        if (p.in === "path") path = path.replace(`{${p.name}}`, encodeURIComponent(String(sampleValid(doc, p.schema))));
        if (p.in === "query") {
          query.push({ name: p.name, required: Boolean(p.required), schema: resolveRef(doc, p.schema) });
          if (p.required) search.set(p.name, String(sampleValid(doc, p.schema)));
        }
      }
      const qs = search.toString();
      const security = (op.security ?? doc.security ?? []) as Record<string, string[]>[];
      out.push({
        method: method.toUpperCase(),
        template,
        path: qs ? `${path}?${qs}` : path,
        secured: security.length > 0,
        apiKeyDoc: security.some((s) => "apiKeyHeader" in s),
        family: familyOf(template),
        body: bodyOf(doc, op),
        query,
        doc: op,
      });
    }
  }
  return out;
}

export async function listRoutes(t: TestApp): Promise<RouteSpec[]> {
  return routesOf(await openApiDoc(t));
}

/** The route's sample request, with the given headers (credentials) added. */
export function sampleRequest(r: RouteSpec, headers: Record<string, string> = {}) {
  if (!r.body) return { headers };
  if (r.body.type === "application/x-www-form-urlencoded") {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries((r.body.sample ?? {}) as Record<string, unknown>)) form.set(k, String(v));
    return { headers: { ...headers, "content-type": r.body.type }, body: form.toString() };
  }
  return { headers, body: r.body.sample };
}

export const label = (r: RouteSpec) => `${r.method} ${r.template}`;
