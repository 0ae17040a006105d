// A body object whose schema says `additionalProperties: false` takes no other field. Elysia's
// normalisation removes unknown fields before validation, so without this check a typo
// (`{"enable": false}` for `enabled`) would be a 200 that changed nothing. Found before
// validation from the route's TypeBox schema, like the null-as-absent pass beside it.
import type { TSchema } from "@sinclair/typebox";

type Schema = TSchema & { properties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[]; additionalProperties?: unknown };

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
  if (schema.additionalProperties === false && Object.keys(obj).some((k) => !Object.hasOwn(props, k))) return { at, fields: Object.keys(props) };
  for (const [key, prop] of Object.entries(props)) {
    if (!Object.hasOwn(obj, key)) continue;
    const found = find(prop, obj[key], `${at}.${key}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** The first object in the body that carries a field its closed schema does not name. */
export function unknownFieldIn(schema: TSchema, body: unknown): UnknownField | undefined {
  return find(schema as Schema, body, "body", 0);
}
