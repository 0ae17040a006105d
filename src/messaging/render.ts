import type { Contact } from "./schema";

// `{{ name }}` or `{{contact.field}}`; names are word characters, dots and dashes.
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

export type PlaceholderValue = string | number | boolean;

/** Every distinct placeholder a template body uses, in order of first appearance. */
export function placeholdersOf(body: string): string[] {
  return [...new Set([...body.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

function contactValue(c: Contact, field: string): unknown {
  switch (field) {
    case "id":
      return c.id;
    case "name":
      return c.name;
    case "email":
      return c.email;
    case "phone":
      return c.phone;
    case "stream_user_id":
    case "streamUserId":
      return c.streamUserId;
    default:
      return Object.hasOwn(c.attributes, field) ? c.attributes[field] : undefined;
  }
}

export type RenderResult = { ok: true; text: string } | { ok: false; missing: string };

/**
 * One pass, so a value that itself contains `{{...}}` is sent literally and never expanded.
 * Request placeholders win over nothing: `contact.*` names always come from the contact.
 */
export function renderTemplate(body: string, placeholders: Record<string, PlaceholderValue>, recipient: Contact): RenderResult {
  let missing: string | undefined;
  const text = body.replace(PLACEHOLDER, (whole, name: string) => {
    let value: unknown;
    if (name.startsWith("contact.")) value = contactValue(recipient, name.slice("contact.".length));
    else value = Object.hasOwn(placeholders, name) ? placeholders[name] : undefined;
    if (value === undefined || value === null) {
      missing ??= name;
      return whole;
    }
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  });
  return missing === undefined ? { ok: true, text } : { ok: false, missing };
}
