// A body object declared `closed(...)` takes no other field. Elysia's normalisation removes
// unknown fields before validation (and, compiling a route, sets additionalProperties: false on
// every object schema it checks, so that keyword cannot tell a closed model from an open one),
// so without this check a typo (`{"enable": false}` for `enabled`) would be a 200 that changed
// nothing. Found before validation from the route's TypeBox schema, like the null-as-absent pass.
import type { TObject, TSchema } from "@sinclair/typebox";

/** Marks a model closed; a symbol survives TypeBox's cloning (as Kind does) and stays out of the OpenAPI JSON. */
const CLOSED = Symbol.for("chatgate.closedObject");

/** An object model that refuses fields it does not name (and says so in the OpenAPI document). */
export function closed<T extends TObject>(schema: T): T {
  return Object.assign(schema, { additionalProperties: false, [CLOSED]: true });
}

type Schema = TSchema & { properties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[]; [CLOSED]?: boolean };

export interface UnknownField {
  /** Where the object is: `body`, `body.rate_limit`, ... (never the unknown key itself: client text). */
  at: string;
  fields: string[];
}

function find(schema: Schema, value: unknown, at: string, depth: number): UnknownField | undefined {
  if (depth > 16 || value === null || typeof value !== "object") return undefined;
  if (Array.isArray(value)) {
    if (!schema.items) return undefined;
    for (const [i, v] of value.entries()) {
      const found = find(schema.items, v, `${at}.${i}`, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  // A union (`t.Nullable(object)`, ...): unknown only when no object variant names the field.
  if (schema.anyOf) {
    const found = schema.anyOf.filter((v) => v.properties || v.anyOf).map((v) => find(v, value, at, depth + 1));
    return found.length > 0 && found.every((f) => f !== undefined) ? found[0] : undefined;
  }
  if (!schema.properties) return undefined;
  const props = schema.properties;
  const obj = value as Record<string, unknown>;
  if (schema[CLOSED] === true && Object.keys(obj).some((k) => !Object.hasOwn(props, k))) return { at, fields: Object.keys(props) };
  for (const [key, prop] of Object.entries(props)) {
    if (!Object.hasOwn(obj, key)) continue;
    const found = find(prop, obj[key], `${at}.${key}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

// Whether a route's schema holds a closed object anywhere, worked out once per schema: most
// bodies are open, and those are then not walked on every request.
const holdsClosed = new WeakMap<TSchema, boolean>();

function anyClosed(schema: Schema, depth = 0): boolean {
  if (depth > 16) return false;
  if (schema[CLOSED] === true) return true;
  const parts = [...Object.values(schema.properties ?? {}), ...(schema.items ? [schema.items] : []), ...(schema.anyOf ?? [])];
  return parts.some((p) => anyClosed(p, depth + 1));
}

/** The first object in the body that carries a field its closed schema does not name. */
export function unknownFieldIn(schema: TSchema, body: unknown): UnknownField | undefined {
  let closedSomewhere = holdsClosed.get(schema);
  if (closedSomewhere === undefined) holdsClosed.set(schema, (closedSomewhere = anyClosed(schema as Schema)));
  return closedSomewhere ? find(schema as Schema, body, "body", 0) : undefined;
}
