import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { apiKeys } from "../../src/db/schema";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { adminOf, createKey, type SeededKey } from "./helpers";

// The console's one list of every key: search and filters are the server's, so a page of 20
// out of thousands is still the right 20, and X-Total-Count counts the selection.

let t: TestApp;
let admin: SeededUser;
let owner: SeededUser;
let other: SeededUser;
let live: SeededKey;
let test_: SeededKey;
let gone: SeededKey;
let old: SeededKey;

beforeAll(async () => {
  t = await makeApp();
  admin = await adminOf(t);
  owner = await seedUser(t, { name: "Filter Owner", email: "filter-owner@example.test" });
  other = await seedUser(t, { name: "Someone 100%_Else", email: "someone@example.test" });
  live = await createKey(t, { owner, level: "read", body: { name: "billing live" } });
  test_ = await createKey(t, { owner, level: "write", body: { name: "ci runner", environment: "test" } });
  gone = await createKey(t, { owner: other, level: "admin", role: "admin", body: { name: "old admin" } });
  old = await createKey(t, { owner: other, level: "write", body: { name: "stale" } });
  expect((await t.request("DELETE", `/api/auth/api-keys/${gone.id}`, { token: admin.accessToken })).status).toBe(200);
  // An expiry in the past cannot be asked for, so age one key directly.
  await t.ctx.db.update(apiKeys).set({ expiresAt: sql`now() - interval '1 hour'` }).where(eq(apiKeys.id, old.id));
}, 60_000);
afterAll(() => t.close());

async function list(query: string): Promise<{ ids: string[]; total: number; status: number; body: unknown }> {
  const res = await t.request("GET", `/api/auth/api-keys?${query}`, { token: admin.accessToken });
  const body = await json(res);
  return { ids: res.status === 200 ? (body as { id: string }[]).map((k) => k.id).sort() : [], total: Number(res.headers.get("x-total-count")), status: res.status, body };
}

const sorted = (...k: SeededKey[]) => k.map((x) => x.id).sort();

describe("GET /api/auth/api-keys: search and filters", () => {
  test("q matches the key's id, its name, its first characters, its owner's email or name", async () => {
    expect((await list("q=BILLING")).ids).toEqual(sorted(live));
    expect((await list(`q=${encodeURIComponent(test_.key.slice(0, 12))}`)).ids).toEqual(sorted(test_));
    expect((await list("q=filter-owner@")).ids).toEqual(sorted(live, test_));
    expect((await list(`q=${gone.id}`)).ids).toEqual(sorted(gone));
    expect((await list("q=filter%20owner")).ids).toEqual(sorted(live, test_));
    const r = await list("q=filter-owner");
    expect(r.total).toBe(2);
  });

  test("LIKE wildcards in q are literal", async () => {
    expect((await list("q=%25")).ids).toEqual(sorted(gone, old));
    expect((await list("q=_")).ids).toEqual(sorted(gone, old));
    expect((await list("q=zz%25zz")).ids).toEqual([]);
  });

  test("level, environment and status narrow the list, and combine", async () => {
    const mine = `user_id=${owner.user.id}`;
    expect((await list(`${mine}&level=write`)).ids).toEqual(sorted(test_));
    expect((await list(`${mine}&environment=test`)).ids).toEqual(sorted(test_));
    expect((await list(`${mine}&environment=live`)).ids).toEqual(sorted(live));
    const theirs = `user_id=${other.user.id}`;
    expect((await list(`${theirs}&status=revoked`)).ids).toEqual(sorted(gone));
    expect((await list(`${theirs}&status=expired`)).ids).toEqual(sorted(old));
    expect((await list(`${theirs}&status=active`)).ids).toEqual([]);
    expect((await list(`${mine}&status=active`)).ids).toEqual(sorted(live, test_));
    const page = await list(`q=example.test&status=active&limit=1`);
    expect(page.ids).toHaveLength(1);
    expect(page.total).toBeGreaterThanOrEqual(2);
  });

  test("bad filter values are 422 {detail} in words", async () => {
    for (const q of ["level=owner", "environment=prod", "status=gone", `q=${"x".repeat(201)}`]) {
      const r = await list(q);
      expect(r.status).toBe(422);
      expect(JSON.stringify(r.body)).toMatch(/level|environment|status|q:/);
    }
  });
});
