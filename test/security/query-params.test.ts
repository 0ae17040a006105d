// Every query parameter of every GET route in the OpenAPI document (and limit/offset everywhere),
// with each boundary number a query string can carry: never a 5xx, and on list routes an invalid
// page is refused in the family's shape (422, or 400 for the admin and Stream families).
import { afterAll, describe, expect, test } from "bun:test";
import { statusOf } from "../../src/http/errors";
import { familyOfPath as familyOf } from "../http/path-families";
import { makeApp, seedUser } from "../helpers";
import { label, listRoutes } from "./openapi-routes";

const EDGES = ["-1", "0", "1.5", "99999999999999999999", "1e3", "1e999", "NaN", "Infinity", "-0", "0x10", " 1", "", "9007199254740993", "abc"];
const INVALID_PAGE: Record<string, string[]> = {
  limit: ["-1", "0", "1.5", "99999999999999999999", "1e999", "NaN", "Infinity", "abc", "9007199254740993"],
  offset: ["-1", "1.5", "99999999999999999999", "1e999", "NaN", "Infinity", "abc", "9007199254740993"],
};

const t = await makeApp();
const admin = await seedUser(t, { role: "admin" });
const routes = (await listRoutes(t)).filter((r) => r.method === "GET");

afterAll(() => t.close());

function url(path: string, name: string, value: string): string {
  const [p, q] = path.split("?");
  const search = new URLSearchParams(q ?? "");
  search.set(name, value);
  return `${p}?${search}`;
}

describe("query strings of every GET route", () => {
  test("list routes document limit and offset", () => {
    const lists = routes.filter((r) => r.query.some((q) => q.name === "limit"));
    expect(lists.map(label).sort()).toEqual(
      [
        // Keyset only (limit and cursor, no offset): the audit log is paged by (at, id).
        "GET /api/admin/audit",
        "GET /api/admin/chatflows",
        "GET /api/admin/chatflows/{id}/users",
        "GET /api/admin/tokens",
        "GET /api/admin/users/{id}/credits/ledger",
        "GET /api/admin/webhooks",
        "GET /api/admin/webhooks/{id}/deliveries",
        "GET /api/auth/api-keys",
        "GET /api/auth/users",
        "GET /api-keys",
        "GET /api/contacts",
        "GET /api/messages",
        "GET /api/templates",
        "GET /api/v1/chat/sessions",
        "GET /api/v1/chat/tokens",
      ].sort(),
    );
  });

  for (const r of routes) {
    test(`${label(r)}: boundary numbers in any query parameter are never a 5xx`, async () => {
      const names = new Set([...r.query.map((q) => q.name), "limit", "offset"]);
      for (const name of names) {
        for (const v of EDGES) {
          const res = await t.request("GET", url(r.path, name, v), { token: r.secured ? admin.accessToken : undefined });
          const text = await res.text();
          if (res.status >= 500) throw new Error(`${label(r)} ?${name}=${v} → ${res.status} ${text.slice(0, 200)}`);
          const documented = r.query.some((q) => q.name === name);
          if (documented && INVALID_PAGE[name]?.includes(v)) {
            const family = familyOf(r.path.split("?")[0]!);
            expect({ name, v, status: res.status }).toEqual({ name, v, status: statusOf("VALIDATION", family) });
          }
        }
      }
    });
  }
});
