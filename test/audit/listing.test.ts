import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SYSTEM_ACTOR, record } from "../../src/audit/service";
import { csvCell } from "../../src/audit/export";
import { eq, sql } from "drizzle-orm";
import { auditEvents } from "../../src/db/schema";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { adminOf } from "../keys/helpers";

let t: TestApp;
let admin: SeededUser;
const N = 23;
beforeAll(async () => {
  t = await makeApp();
  admin = await adminOf(t);
  for (let i = 0; i < N; i++) {
    await record(
      t.ctx.db,
      { ...SYSTEM_ACTOR, id: i % 2 ? "actor-odd" : "actor-even" },
      {
        action: i % 3 ? "test.plain" : "test.third",
        target: { type: "thing", id: `thing-${i}` },
        changes: { n: [i - 1, i], note: [null, i === 5 ? '=HYPERLINK("http://x")' : 'ok, "quoted"'] },
      },
    );
  }
}, 60_000);
afterAll(() => t.close());

const get = (query: string) => t.request("GET", `/api/admin/audit${query}`, { token: admin.accessToken });

describe("GET /api/admin/audit", () => {
  test("newest first, keyset pages with next_cursor until null, no row twice", async () => {
    const seen: string[] = [];
    const keys: [string, string][] = [];
    let cursor: string | null = "";
    let pages = 0;
    while (cursor !== null) {
      const res = await get(`?action=test.plain&limit=5${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      const body = await json(res);
      for (const e of body.events) {
        seen.push(e.target.id);
        keys.push([e.at, e.id]);
      }
      cursor = body.next_cursor;
      pages++;
    }
    const plain = [...Array(N).keys()]
      .filter((i) => i % 3)
      .map((i) => `thing-${i}`)
      .reverse();
    // Rows written within one clock tick share `at` (the id breaks the tie): compare as a set,
    // and check newest first.
    expect([...seen].sort()).toEqual([...plain].sort());
    expect(new Set(seen).size).toBe(seen.length);
    for (let i = 1; i < keys.length; i++) {
      const [a, b] = [keys[i - 1]!, keys[i]!];
      // `at` is shown to the millisecond, ordered to the microsecond: only non-increasing here.
      expect(Date.parse(a[0])).toBeGreaterThanOrEqual(Date.parse(b[0]));
    }
    expect(pages).toBe(Math.ceil(plain.length / 5) + (plain.length % 5 === 0 ? 1 : 0));
  });

  test("filters: actor_id, target_id, since/until; the event shape", async () => {
    const byActor = await json(await get("?actor_id=actor-odd&limit=1000"));
    expect(byActor.events.every((e: any) => e.actor.id === "actor-odd")).toBe(true);
    expect(byActor.events.length).toBe(Math.floor(N / 2));
    const one = await json(await get("?target_id=thing-4"));
    expect(one.events).toHaveLength(1);
    expect(Object.keys(one.events[0]).sort()).toEqual(["action", "actor", "at", "changes", "id", "ip", "request_id", "target"]);
    expect(one.events[0]).toMatchObject({ actor: { type: "system", id: "actor-even" }, action: "test.plain", target: { type: "thing", id: "thing-4" }, changes: { n: [3, 4] } });
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await json(await get(`?since=${future}`))).events).toHaveLength(0);
    expect((await json(await get(`?until=${future}&target_id=thing-4`))).events).toHaveLength(1);
  });

  test("ndjson streams the whole selection, newest first", async () => {
    const res = await get("?format=ndjson&action=test.third");
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((e) => e.target.id).sort()).toEqual(
      [...Array(N).keys()]
        .filter((i) => i % 3 === 0)
        .map((i) => `thing-${i}`)
        .sort(),
    );
    for (let i = 1; i < lines.length; i++) expect(Date.parse(lines[i - 1].at)).toBeGreaterThanOrEqual(Date.parse(lines[i].at));
  });

  test("csv: header, one line per row, formula cells defused, quotes escaped", async () => {
    const res = await get("?format=csv&target_id=thing-5");
    expect(res.headers.get("content-type")).toContain("text/csv");
    const text = await res.text();
    const [header, line, end] = text.split("\r\n");
    expect(header).toBe("id,at,actor_type,actor_id,action,target_type,target_id,ip,request_id,changes");
    expect(line).toContain("thing-5");
    expect(end).toBe("");
    expect(csvCell("=1+1")).toBe("'=1+1");
    expect(csvCell("+1")).toBe("'+1");
    expect(csvCell("-1")).toBe("'-1");
    expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvCell('a,"b"')).toBe('"a,""b"""');
    expect(csvCell(null)).toBe("");
  });

  test("bad query is 400 (the admin family's validation status), a user's token 403, none 401; no route writes a row", async () => {
    expect((await get("?limit=0")).status).toBe(400);
    expect((await get("?since=yesterday")).status).toBe(400);
    expect((await get("?cursor=bm9wZQ")).status).toBe(400);
    expect((await get("?format=xml")).status).toBe(400);
    const user = await seedUser(t);
    expect((await t.request("GET", "/api/admin/audit", { token: user.accessToken })).status).toBe(403);
    expect((await t.request("GET", "/api/admin/audit")).status).toBe(401);
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      const res = await t.request(method, "/api/admin/audit", { token: admin.accessToken, body: {} });
      expect([404, 405]).toContain(res.status);
    }
  });

  test("retention prunes rows older than AUDIT_RETENTION_DAYS only", async () => {
    const { pruneEvents } = await import("../../src/audit/service");
    await t.ctx.db.update(auditEvents).set({ at: sql`now() - interval '400 days'` }).where(eq(auditEvents.targetId, "thing-0"));
    expect(await pruneEvents(t.ctx.db, 365)).toBe(1);
    expect((await json(await get("?target_id=thing-0"))).events).toHaveLength(0);
    expect((await json(await get("?target_id=thing-1"))).events).toHaveLength(1);
  });
});
