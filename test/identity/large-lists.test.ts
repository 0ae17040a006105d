// The admin lists with 100k rows seeded in SQL: each answers one bounded page and the real total,
// the last row is reachable by offset, and a page larger than the hard maximum is refused.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";

const N = 100_000;
const FLOW = "large-lists-flow";
let t: TestApp;
let admin: SeededUser;

beforeAll(async () => {
  t = await makeApp();
  admin = await seedUser(t, { role: "admin" });
  const db = t.ctx.db;
  // Created after the admin, in order, so the last page holds user N.
  await db.execute(
    sql.raw(`insert into users (id, email, name, created_at)
    select 'bulk-' || lpad(i::text, 6, '0'), 'bulk' || i || '@example.test', 'Bulk ' || i, now() + i * interval '1 millisecond'
    from generate_series(1, ${N}) i`),
  );
  await db.execute(
    sql.raw(`insert into api_keys (id, user_id, name, level, environment, key_hash, start, created_at)
    select 'key-' || i, 'bulk-' || lpad((1 + i % 1000)::text, 6, '0'), 'key ' || i, 'read', 'live', md5(i::text), 'sk_live_' || i, now() - i * interval '1 millisecond'
    from generate_series(1, ${N}) i`),
  );
  await db.execute(
    sql.raw(`insert into api_tokens (id, user_id, name, created_by)
    select 'tok-' || i, 'bulk-' || lpad((1 + i % 1000)::text, 6, '0'), 'token ' || i, '${admin.user.id}'
    from generate_series(1, ${N}) i`),
  );
  await db.execute(sql.raw(`insert into chatflows (id, name) values ('${FLOW}', 'large')`));
  await db.execute(sql.raw(`insert into chatflow_access (chatflow_id, user_id) select '${FLOW}', id from users where id like 'bulk-%'`));
}, 300_000);

afterAll(() => t?.close());

const get = (path: string) => t.request("GET", path, { token: admin.accessToken });

describe(`admin lists with ${N} rows`, () => {
  test("users: a default page of 100 with the real total; user 100,001 is on the last page; over 1000 is 422", async () => {
    const first = await json(await get("/api/auth/users"));
    expect({ n: first.users.length, count: first.count, limit: first.limit, offset: first.offset }).toEqual({ n: 100, count: N + 1, limit: 100, offset: 0 });
    const last = await json(await get(`/api/auth/users?limit=1000&offset=${N}`));
    expect(last.users.map((u: { id: string }) => u.id)).toEqual([`bulk-${N}`]);
    const tooBig = await get("/api/auth/users?limit=1001");
    expect(tooBig.status).toBe(422);
    expect(Object.keys(await json(tooBig))).toContain("detail");
  });

  test("users by cursor: each page continues the last, the same rows as by offset; a forged cursor is 422", async () => {
    const byOffset = await json(await get("/api/auth/users?limit=1000&offset=2000"));
    let page = await json(await get("/api/auth/users?limit=1000"));
    page = await json(await get(`/api/auth/users?limit=1000&after=${page.next_cursor}`));
    page = await json(await get(`/api/auth/users?limit=1000&after=${page.next_cursor}`));
    expect(page.users.map((u: { id: string }) => u.id)).toEqual(byOffset.users.map((u: { id: string }) => u.id));
    const tail = await json(await get(`/api/auth/users?limit=1000&offset=${N - 998}`));
    expect(tail.next_cursor).toBeNull();
    const forged = Buffer.from(JSON.stringify(["2026-02-30T00:00:00.000000Z", "x"])).toString("base64url");
    for (const bad of [forged, "abc", "e30"]) expect((await get(`/api/auth/users?after=${bad}`)).status).toBe(422);
    expect((await get(`/api/auth/users?after=${page.next_cursor}&offset=5`)).status).toBe(422);
  });

  test("API keys by cursor (X-Next-Cursor): the last keys are reached without an offset", async () => {
    const byOffset = await json<{ id: string }[]>(await get(`/api/auth/api-keys?limit=1000&offset=1000`));
    const first = await get("/api/auth/api-keys?limit=1000");
    const second = await json<{ id: string }[]>(await get(`/api/auth/api-keys?limit=1000&after=${first.headers.get("x-next-cursor")}`));
    expect(second.map((k) => k.id)).toEqual(byOffset.map((k) => k.id));
  });

  test("API keys: a page, the total in X-Total-Count, one user's keys paged too", async () => {
    const res = await get("/api/auth/api-keys");
    const rows = await json<unknown[]>(res);
    expect({ n: rows.length, total: res.headers.get("x-total-count") }).toEqual({ n: 100, total: String(N) });
    const one = await get("/api/auth/api-keys?user_id=bulk-000007&limit=10&offset=95");
    expect({ n: (await json<unknown[]>(one)).length, total: one.headers.get("x-total-count") }).toEqual({ n: 5, total: "100" });
    expect((await get("/api/auth/api-keys?limit=5000")).status).toBe(422);
  });

  test("admin API tokens: a page and the real count", async () => {
    const page = await json(await get("/api/admin/tokens?limit=50&offset=10"));
    expect({ n: page.tokens.length, count: page.count, limit: page.limit, offset: page.offset }).toEqual({ n: 50, count: N, limit: 50, offset: 10 });
    expect((await get("/api/admin/tokens?limit=0")).status).toBe(400);
  });

  test("your refresh tokens: a page and the real count", async () => {
    const me = await seedUser(t);
    for (let i = 0; i < 2; i++) await t.request("POST", "/api/v1/chat/authenticate", { body: { username: me.user.email, password: me.password } });
    const page = await json(await t.request("GET", "/api/v1/chat/tokens?limit=2", { token: me.accessToken }));
    expect({ n: page.tokens.length, count: page.count, limit: page.limit }).toEqual({ n: 2, count: 3, limit: 2 });
    expect((await t.request("GET", "/api/v1/chat/tokens?limit=201", { token: me.accessToken })).status).toBe(422);
  });

  test("a chatflow's granted users: a page and the real count", async () => {
    const page = await json(await get(`/api/admin/chatflows/${FLOW}/users?limit=20&offset=${N - 5}`));
    expect({ n: page.users.length, count: page.count }).toEqual({ n: 5, count: N });
  });
});
