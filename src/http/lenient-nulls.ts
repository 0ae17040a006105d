// Many client encoders (pydantic, Swift, Kotlin) write an unset optional field as `null`. For
// every optional property whose schema does not itself allow null, `null` means "absent": it is
// dropped before validation, driven by the route's TypeBox schema, so no route needs to care.
import { Kind, OptionalKind, type TSchema } from "@sinclair/typebox";

type Schema = TSchema & { properties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[]; allOf?: Schema[] };

function allowsNull(s: Schema): boolean {
  const kind = s[Kind];
  if (kind === "Null" || kind === "Any" || kind === "Unknown" || s.type === "null") return true;
  if (Array.isArray(s.type) && s.type.includes("null")) return true;
  return Boolean(s.anyOf?.some(allowsNull));
}

const isOptional = (s: Schema) => s[OptionalKind] === "Optional";

function dropIn(schema: Schema, value: unknown, depth: number): void {
  if (depth > 16 || value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    if (schema.items) for (const v of value) dropIn(schema.items, v, depth + 1);
    return;
  }
  for (const variant of [...(schema.anyOf ?? []), ...(schema.allOf ?? [])]) dropIn(variant, value, depth + 1);
  if (!schema.properties) return;
  const obj = value as Record<string, unknown>;
  for (const [key, prop] of Object.entries(schema.properties)) {
    if (!Object.hasOwn(obj, key)) continue;
    if (obj[key] === null) {
      if (isOptional(prop) && !allowsNull(prop)) delete obj[key];
    } else dropIn(prop, obj[key], depth + 1);
  }
}

/** The body with null optional fields removed (in place); a null optional body becomes absent. */
export function dropNullOptionals(schema: TSchema, body: unknown): unknown {
  const s = schema as Schema;
  if (body === null && isOptional(s) && !allowsNull(s)) return undefined;
  dropIn(s, body, 0);
  return body;
}
