// Turns what Elysia's route table yields into an OpenAPI 3.1 document that validators and client
// generators accept. Generic on purpose: routes change in parallel, so nothing here names a
// route's schema; it rewrites whatever the routes declare.
import { Kind } from "@sinclair/typebox";
import type { Family } from "../http/errors";
import { ERROR_SCHEMAS, errorResponses } from "./errors";

type Json = Record<string, any>;

const METHODS = ["get", "put", "post", "delete", "patch", "options", "head", "trace"];

// JSON Schema 2020-12 (OpenAPI 3.1's dialect) keywords plus OpenAPI's own: anything else TypeBox
// or Elysia leaves on a schema (`error`, `$id`, `transform`, `Kind`s serialised as keys) goes.
const KEYWORDS = new Set([
  "type",
  "enum",
  "const",
  "format",
  "title",
  "description",
  "default",
  "examples",
  "example",
  "deprecated",
  "readOnly",
  "writeOnly",
  "$ref",
  "$defs",
  "multipleOf",
  "maximum",
  "exclusiveMaximum",
  "minimum",
  "exclusiveMinimum",
  "maxLength",
  "minLength",
  "pattern",
  "contentMediaType",
  "contentEncoding",
  "maxItems",
  "minItems",
  "uniqueItems",
  "maxContains",
  "minContains",
  "maxProperties",
  "minProperties",
  "required",
  "dependentRequired",
  "discriminator",
  "xml",
  "externalDocs",
]);
const SUB_SCHEMA = new Set(["items", "contains", "not", "additionalProperties", "propertyNames", "if", "then", "else", "unevaluatedProperties", "unevaluatedItems"]);
const SUB_SCHEMA_LIST = new Set(["allOf", "anyOf", "oneOf", "prefixItems"]);
const SUB_SCHEMA_MAP = new Set(["properties", "patternProperties", "$defs", "dependentSchemas"]);
const JSON_TYPES = new Set(["string", "number", "integer", "boolean", "object", "array", "null"]);

/** A TypeBox/Elysia schema as plain JSON Schema 2020-12. */
export function cleanSchema(s: unknown): Json {
  if (typeof s === "boolean") return s as unknown as Json;
  if (!s || typeof s !== "object") return {};
  const src = s as Json;
  const out: Json = {};
  for (const [k, v] of Object.entries(src)) {
    if (v === undefined) continue;
    if (SUB_SCHEMA.has(k)) out[k] = cleanSchema(v);
    else if (SUB_SCHEMA_LIST.has(k) && Array.isArray(v)) out[k] = v.map(cleanSchema);
    else if (SUB_SCHEMA_MAP.has(k) && v && typeof v === "object") {
      out[k] = Object.fromEntries(Object.entries(v).map(([n, x]) => [n, cleanSchema(x)]));
    } else if (KEYWORDS.has(k)) out[k] = v;
  }
  // TypeBox's non-JSON types (t.Date and friends) as what crosses the wire.
  if (typeof out.type === "string" && !JSON_TYPES.has(out.type)) {
    if (out.type === "Date") Object.assign(out, { type: "string", format: "date-time" });
    else delete out.type;
  }
  if (typeof out.$ref === "string" && !out.$ref.startsWith("#/")) out.$ref = `#/components/schemas/${out.$ref}`;
  if (out.examples !== undefined && !Array.isArray(out.examples)) out.examples = [out.examples];
  if (Array.isArray(out.required) && out.required.length === 0) delete out.required;
  return out;
}

/**
 * Routes refer to their schemas by const; the features register the same consts under component
 * names (`.model({...})`). A route schema that is one of them (the same object) is handed to
 * @elysiajs/swagger by name, so the document refers to the component instead of a copy of it.
 */
export function modelNamer(models: Record<string, unknown>): <H extends Json>(hook: H) => H {
  const names = new Map<unknown, string>(Object.entries(models).map(([name, schema]) => [schema, name]));
  const named = (s: unknown) => (s && typeof s === "object" && names.get(s)) || s;
  return (hook) => {
    const { body, response } = hook;
    const statusMap = response && typeof response === "object" && !names.has(response) && !(Kind in response);
    return {
      ...hook,
      ...(body === undefined ? {} : { body: named(body) }),
      ...(response === undefined ? {} : { response: statusMap ? Object.fromEntries(Object.entries(response).map(([status, s]) => [status, named(s)])) : named(response) }),
    };
  };
}

const DEFAULT_MEDIA = ["application/json", "multipart/form-data", "text/plain"];

/**
 * Elysia lists every body under three media types unless the route names its parsers; JSON is
 * what the routes take. A route that really takes more says so with `detail["x-accepts"]`.
 */
function mediaTypes(content: Json | undefined, accepts?: string[]): Json | undefined {
  if (!content) return undefined;
  const types = Object.keys(content);
  const isDefault = types.length === DEFAULT_MEDIA.length && DEFAULT_MEDIA.every((t) => types.includes(t));
  const keep = isDefault ? (accepts ?? ["application/json"]) : types;
  const schemaOf = (t: string) => content[t]?.schema ?? content[types[0]!]?.schema;
  return Object.fromEntries(keep.map((t) => [t, { ...content[t], schema: cleanSchema(schemaOf(t)) }]));
}

const REASON: Record<string, string> = { "200": "OK", "201": "Created", "202": "Accepted", "204": "No content" };

function cleanParameter(p: Json): Json {
  const { examples, example, schema, ...rest } = p;
  const out: Json = { ...rest, schema: cleanSchema(schema) };
  if (out.description === undefined) delete out.description;
  // A parameter's `examples` is a map of Example Objects; TypeBox gives a list of values.
  const first = Array.isArray(examples) ? examples[0] : example;
  if (first !== undefined) out.example = first;
  if (out.in === "path") out.required = true;
  return out;
}

function operationId(method: string, path: string): string {
  const words = path
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1));
  return method + words.join("");
}

/** Rewrites one operation in place: media types, descriptions, security, error responses. */
function finishOperation(method: string, path: string, op: Json): void {
  op.operationId = operationId(method, path);
  // A route without words still gets some: redocly and client generators want a description.
  if (!op.summary) op.summary = `${method.toUpperCase()} ${path}`;
  if (!op.description) op.description = op.summary;
  const secured = Array.isArray(op.security) && op.security.length > 0;
  // Public operations say so explicitly rather than inheriting a default.
  if (!secured) op.security = [];
  op.parameters = (op.parameters ?? []).map(cleanParameter);
  if (op.parameters.length === 0) delete op.parameters;
  const accepts = op["x-accepts"] as string[] | undefined;
  delete op["x-accepts"];
  const family = (op["x-error-family"] as Family | undefined) ?? "detail";
  delete op["x-error-family"];
  if (op.requestBody) op.requestBody = { ...op.requestBody, content: mediaTypes(op.requestBody.content, accepts) };
  const responses: Json = {};
  for (const [status, r] of Object.entries((op.responses ?? {}) as Json)) {
    // Elysia copies the response schema's own keys (title, $id, ...) onto the Response Object.
    const content = mediaTypes(r?.content);
    responses[status] = {
      description: r?.description || REASON[status] || "Response",
      ...(r?.headers ? { headers: r.headers } : {}),
      ...(content && Object.keys(content).length ? { content } : {}),
    };
  }
  const params: Json[] = op.parameters ?? [];
  const errors = errorResponses({
    method,
    path,
    secured,
    hasBody: Boolean(op.requestBody),
    hasParams: params.length > 0,
    hasPathParams: params.some((p) => p.in === "path"),
    family,
  });
  // A route's own declaration of a status wins over the derived one.
  for (const [status, r] of Object.entries(errors)) responses[status] ??= r;
  op.responses = responses;
}

/** Trailing slashes come from Elysia groups (`.get("/")`); the documented paths have none. */
function documentedPath(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

/** The raw document (as @elysiajs/swagger builds it) made valid OpenAPI 3.1. */
export function finishDocument(raw: Json): Json {
  const paths: Json = {};
  const tags = new Set<string>();
  for (const [rawPath, item] of Object.entries((raw.paths ?? {}) as Json)) {
    const path = documentedPath(rawPath);
    for (const [method, op] of Object.entries(item as Json)) {
      if (!METHODS.includes(method)) continue;
      finishOperation(method, path, op);
      for (const tag of op.tags ?? []) tags.add(tag);
      (paths[path] ??= {})[method] = op;
    }
  }
  const schemas = Object.fromEntries(Object.entries((raw.components?.schemas ?? {}) as Json).map(([name, s]) => [name, cleanSchema(s)]));
  return {
    openapi: "3.1.0",
    info: raw.info,
    servers: [{ url: "/", description: "This chatgate instance" }],
    tags: [...tags].sort().map((name) => ({ name, description: `${name} routes` })),
    paths,
    components: {
      ...raw.components,
      schemas: { ...schemas, ...ERROR_SCHEMAS },
    },
  };
}
