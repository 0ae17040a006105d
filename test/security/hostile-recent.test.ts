// A hostile-input pass over the most recently added endpoints (usage, key and user search, own
// password, token descriptions, message retry/cancel, webhooks, audit export): every input below
// was a 5xx, a silent misreading or a wrong family status before its fix. Each gets its family's
// client error and changes nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { ADMIN_TOKEN_ERRORS } from "../../src/admin-tokens/errors";
import { AUDIT_ERRORS } from "../../src/audit/errors";
import { rowsOf } from "../../src/db/client";
import { HTTP_ERRORS } from "../../src/http/errors";
import { IDENTITY_ERRORS } from "../../src/identity/errors";
import { KEY_ERRORS } from "../../src/keys/errors";
import { USAGE_ERRORS } from "../../src/usage/errors";
import { MAX_POINTS } from "../../src/usage/model";
import { issueSession } from "../../src/identity/sessions";
import { toUserState } from "../../src/identity/user-cache";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { adminOf, createKey } from "../keys/helpers";

let t: TestApp;
let admin: SeededUser;
let user: SeededUser;
beforeAll(async () => {
  t = await makeApp();
  admin = await adminOf(t);
  user = await seedUser(t);
  await createKey(t, { level: "read", owner: user });
}, 60_000);
afterAll(() => t.close());

const A = () => ({ token: admin.accessToken });
const cursor = (at: string, id: string) => Buffer.from(JSON.stringify([at, id])).toString("base64url");

/** Rows of the tables a refused request must leave alone. */
async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ["audit_events", "api_tokens", "api_keys", "webhooks", "webhook_deliveries"]) {
    out[table] = Number(rowsOf<{ n: number }>(await t.ctx.db.execute(sql.raw(`select count(*)::int as n from ${table}`)))[0]!.n);
  }
  return out;
}

describe("cursors that decode but cannot be a row's position", () => {
  // Well-formed base64url JSON pairs: a NUL (Postgres text holds none), a control character, and
  // a year 0000 instant (Postgres has no year 0).
  const bad = [cursor("2026-01-01T00:00:00.000000Z", "a\u0000b"), cursor("2026-01-01T00:00:00.000000Z", "a\u0001b"), cursor("0000-01-01T00:00:00.000000Z", "usr_x")];

  test("audit ?cursor= → 400 in the admin body", async () => {
    for (const c of bad) {
      const res = await t.request("GET", `/api/admin/audit?cursor=${c}`, A());
      expect([res.status, await json(res)]).toEqual([400, { message: AUDIT_ERRORS.BAD_CURSOR.message, status: 400 }]);
    }
  });

  test("users and API keys ?after= → 422 {detail}", async () => {
    for (const path of ["/api/auth/users", "/api/auth/api-keys"]) {
      for (const c of bad) {
        const res = await t.request("GET", `${path}?after=${c}`, A());
        expect([path, res.status, await json(res)]).toEqual([path, 422, { detail: HTTP_ERRORS.BAD_CURSOR.message }]);
      }
    }
  });
});

describe("usage: instants outside what a timestamp can hold", () => {
  const outside: [string, string][] = [
    ["?since=0000-12-31&until=0001-01-02", USAGE_ERRORS.INSTANT_OUT_OF_RANGE.message("since")],
    ["?since=0000-01-01&until=0000-01-02", USAGE_ERRORS.INSTANT_OUT_OF_RANGE.message("until")],
    // 0001-01-01T00:00+01:00 is 0000-12-31T23:00Z.
    ["?since=0001-01-01T00:00%2B01:00&until=0001-01-02", USAGE_ERRORS.INSTANT_OUT_OF_RANGE.message("since")],
    // 9999-12-31T23:00-05:00 is in the year 10000.
    ["?since=9999-12-31&until=9999-12-31T23:00-05:00", USAGE_ERRORS.INSTANT_OUT_OF_RANGE.message("until")],
    ["?granularity=day&since=9999-12-01&until=9999-12-31T23:59:59-23:59", USAGE_ERRORS.INSTANT_OUT_OF_RANGE.message("until")],
    // No since: its default (until − 24 h) falls in the year 0.
    ["?until=0001-01-01T05:00Z", USAGE_ERRORS.INSTANT_OUT_OF_RANGE.message("since")],
  ];

  test("→ 400 in each family, naming the field", async () => {
    const wrong: unknown[] = [];
    for (const [q, message] of outside) {
      const adminRes = await t.request("GET", `/api/admin/usage${q}`, A());
      const adminBody = await json(adminRes);
      if (adminRes.status !== 400 || adminBody.message !== message) wrong.push({ q, status: adminRes.status, adminBody });
      const own = await t.request("GET", `/api/auth/usage${q}`, { token: user.accessToken });
      const ownBody = await json(own);
      if (own.status !== 400 || ownBody.detail !== message) wrong.push({ q, status: own.status, ownBody });
    }
    expect(wrong).toEqual([]);
  });

  test("the edges of the years 1 and 9999 are answered", async () => {
    for (const q of ["?since=0001-01-01&until=0001-01-02", "?since=9999-12-31&until=9999-12-31T23:59:59.999Z"]) {
      const res = await t.request("GET", `/api/admin/usage${q}`, A());
      expect([q, res.status]).toEqual([q, 200]);
      expect((await json(res)).series).toEqual([]);
    }
  });
});

describe("usage: a wide range grouped by many keys", () => {
  test("more points than MAX_POINTS is refused in words (not 60 MB of JSON); narrowing answers", async () => {
    const wide = await makeApp();
    try {
      const boss = await seedUser(wide, { role: "admin" });
      const hour = 3_600_000;
      const since = Math.floor(Date.now() / hour) * hour - 30 * 24 * hour;
      const keys = Math.ceil((MAX_POINTS + 1) / 744);
      // Every hour of 31 days for each of `keys` keys: one point each when grouped by key.
      await wide.ctx.db.execute(sql`insert into usage_rollups (bucket, user_id, api_key_id, chatflow_id, requests)
        select to_timestamp((${since}::bigint + h::bigint * 3600000) / 1000.0), 'usr_wide', 'key_wide' || k, '', 1
        from generate_series(0, 743) h, generate_series(1, ${keys}) k`);
      const range = `since=${new Date(since).toISOString()}&until=${new Date(since + 744 * hour).toISOString()}`;
      const get = (q: string) => wide.request("GET", `/api/admin/usage?${range}&${q}`, { token: boss.accessToken });
      const refused = await get("group_by=key");
      expect([refused.status, await json(refused)]).toEqual([400, { message: USAGE_ERRORS.TOO_MANY_POINTS.message(MAX_POINTS), status: 400 }]);
      const one = await json(await get("group_by=key&id=key_wide1"));
      expect(one.series.length).toBe(744);
      const daily = await json(await get("group_by=key&granularity=day"));
      // The admin's own requests are counted too (under no key): only the seeded keys are summed.
      const seeded = daily.series.filter((p: { id: string | null }) => p.id?.startsWith("key_wide"));
      expect(seeded.reduce((n: number, p: { requests: number }) => n + p.requests, 0)).toBe(keys * 744);
    } finally {
      await wide.close();
    }
  }, 60_000);
});

describe("audit: dates and the export", () => {
  const cases: [string, string][] = [
    ["?since=0000-01-01T00:00:00Z", AUDIT_ERRORS.BAD_INSTANT.message("since")],
    ["?until=9999-12-31T23:59:59-23:59", AUDIT_ERRORS.BAD_INSTANT.message("until")],
    ["?since=2026-02-30T00:00:00Z", AUDIT_ERRORS.BAD_INSTANT.message("since")],
    ["?since=2026-12-01T00:00:00Z&until=2026-11-01T00:00:00Z", AUDIT_ERRORS.RANGE_ORDER.message],
  ];

  test("impossible, out-of-range or inverted dates → 400 in the admin body, for every format", async () => {
    const wrong: unknown[] = [];
    for (const [q, message] of cases) {
      for (const format of ["", "&format=ndjson", "&format=csv"]) {
        const res = await t.request("GET", `/api/admin/audit${q}${format}`, A());
        const body = await res.text();
        if (res.status !== 400 || JSON.parse(body).message !== message) wrong.push({ q, format, status: res.status, body: body.slice(0, 200) });
      }
    }
    expect(wrong).toEqual([]);
  });

  test("an export checks its cursor before the first byte and starts after it", async () => {
    const bad = await t.request("GET", "/api/admin/audit?format=ndjson&cursor=zzzz", A());
    expect([bad.status, await json(bad)]).toEqual([400, { message: AUDIT_ERRORS.BAD_CURSOR.message, status: 400 }]);
    const first = await json(await t.request("GET", "/api/admin/audit?limit=1", A()));
    expect(first.next_cursor).not.toBeNull();
    const all = (await (await t.request("GET", "/api/admin/audit?format=ndjson", A())).text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).id);
    const rest = (await (await t.request("GET", `/api/admin/audit?format=ndjson&cursor=${first.next_cursor}`, A())).text())
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l).id);
    expect(all[0]).toBe(first.events[0].id);
    expect(rest).toEqual(all.slice(1));
  });
});

describe("bodies with text Postgres cannot store", () => {
  test("a lone UTF-16 surrogate anywhere in a JSON body → the family's validation error; nothing written", async () => {
    const before = await counts();
    const surrogate = '"a\\ud800b"';
    const raw = (method: string, path: string, body: string) => t.request(method, path, { token: admin.accessToken, body, headers: { "content-type": "application/json" } });
    const issued = await raw("POST", "/api/admin/tokens", `{"userId":"${user.user.id}","description":${surrogate}}`);
    expect([issued.status, await json(issued)]).toEqual([400, { message: HTTP_ERRORS.UNPAIRED_SURROGATE.message, status: 400 }]);
    const hook = await raw("POST", "/api/admin/webhooks", `{"url":"https://example.com/h","events":["*"],"description":${surrogate}}`);
    expect([hook.status, await json(hook)]).toEqual([400, { message: HTTP_ERRORS.UNPAIRED_SURROGATE.message, status: 400 }]);
    const key = await raw("POST", "/api/auth/api-keys", `{"name":${surrogate},"user_id":"${user.user.id}","level":"read"}`);
    expect([key.status, await json(key)]).toEqual([422, { detail: HTTP_ERRORS.UNPAIRED_SURROGATE.message }]);
    // In a key too, and a low surrogate alone.
    const inKey = await raw("POST", "/api/admin/tokens", `{"userId":"${user.user.id}","\\udc00":1}`);
    expect(inKey.status).toBe(400);
    // A pair is a character like any other.
    const pair = await raw("POST", "/api/admin/tokens", `{"userId":"${user.user.id}","description":"\\ud83d\\ude00"}`);
    expect(pair.status).toBe(200);
    const after = await counts();
    expect(after).toEqual({ ...before, api_tokens: before.api_tokens! + 1, audit_events: before.audit_events! + 1 });
  });

  test("an admin token's expiration past the year 9999 → 400 in words, nothing written", async () => {
    const before = await counts();
    for (const expiration of ["9999-12-31T23:59:59-23:59", "+010000-01-01T00:00:00Z", "2099-02-30T00:00:00Z"]) {
      const res = await t.request("POST", "/api/admin/tokens", { ...A(), body: { userId: user.user.id, expiration } });
      expect([expiration, res.status, await json(res)]).toEqual([expiration, 400, { message: ADMIN_TOKEN_ERRORS.BAD_EXPIRATION.message, status: 400 }]);
    }
    expect(await counts()).toEqual(before);
  });
});

describe("API key expiry", () => {
  test("past 9999-12-31 (after the offset) or on a day the calendar lacks → 422 in words, no key made", async () => {
    const before = await counts();
    for (const expires_at of ["9999-12-31T23:59:59-23:59", "2099-02-30T00:00:00Z"]) {
      const byAdmin = await t.request("POST", "/api/auth/api-keys", { ...A(), body: { name: "k", user_id: user.user.id, level: "read", expires_at } });
      expect([expires_at, byAdmin.status, await json(byAdmin)]).toEqual([expires_at, 422, { detail: KEY_ERRORS.BAD_EXPIRY.message }]);
      const own = await t.request("POST", "/api-key", { token: user.accessToken, body: { expires_at } });
      expect([expires_at, own.status, await json(own)]).toEqual([expires_at, 422, { detail: KEY_ERRORS.BAD_EXPIRY.message }]);
    }
    expect(await counts()).toEqual(before);
  });
});

describe("a NUL in the query string", () => {
  test("is answered after the credential: no token → the family's 401", async () => {
    const own = await t.request("GET", "/api/auth/usage?since=%00");
    expect([own.status, await json(own)]).toEqual([401, { detail: HTTP_ERRORS.INVALID_JWT.message }]);
    const audit = await t.request("GET", "/api/admin/audit?action=%00");
    expect([audit.status, await json(audit)]).toEqual([401, { message: HTTP_ERRORS.INVALID_JWT.message, status: 401 }]);
    const head = await t.request("HEAD", "/api/auth/users?q=%00");
    expect(head.status).toBe(401);
    const notAdmin = await t.request("GET", "/api/admin/usage?id=%00", { token: user.accessToken });
    expect([notAdmin.status, await json(notAdmin)]).toEqual([403, { message: HTTP_ERRORS.FORBIDDEN.message, status: 403 }]);
  });

  test("with a credential it is the route's validation status: 400 on /api/auth/usage, whose contract says 400", async () => {
    const own = await t.request("GET", "/api/auth/usage?since=%00", { token: user.accessToken });
    expect([own.status, await json(own)]).toEqual([400, { detail: HTTP_ERRORS.NUL_CHARACTER.message }]);
    const users = await t.request("GET", "/api/auth/users?q=%00", A());
    expect([users.status, await json(users)]).toEqual([422, { detail: HTTP_ERRORS.NUL_CHARACTER.message }]);
    const messages = await t.request("POST", "/api/messages/%00/retry", { token: user.accessToken });
    expect([messages.status, await json(messages)]).toEqual([422, { success: false, error: HTTP_ERRORS.NUL_CHARACTER.message }]);
    const unrouted = await t.request("GET", "/no/such/%00");
    expect(unrouted.status).toBe(404);
  });
});

describe("own password: what a sloppy client sends", () => {
  test("a wrong type or an oversized value says what the field must be (not just 'required'); the password stays", async () => {
    const u = await seedUser(t);
    const cases: [unknown, string][] = [
      [{ current_password: 12345678, new_password: "a-fresh-password-42" }, "current_password"],
      [{ current_password: "x".repeat(5000), new_password: "a-fresh-password-42" }, "current_password"],
      [{ current_password: u.password, new_password: ["a-fresh-password-42"] }, "new_password"],
      [{ current_password: u.password }, "new_password"],
    ];
    for (const [body, field] of cases) {
      const res = await t.request("POST", "/api/auth/me/password", { token: u.accessToken, body });
      expect([field, res.status, await json(res)]).toEqual([field, 422, { detail: IDENTITY_ERRORS.OWN_PASSWORD_FIELD.message(field) }]);
    }
    const login = await t.request("POST", "/api/v1/chat/authenticate", { body: { username: u.user.email, password: u.password } });
    expect(login.status).toBe(200);
  });
});

describe("own password: two changes at once", () => {
  test("from two sessions with the same current password: one wins, the other changes nothing (409 or 403)", async () => {
    const u = await seedUser(t);
    const second = await issueSession(t.ctx, toUserState(u.user));
    const [a, b] = await Promise.all(
      [
        [u.accessToken, "first-fresh-password-42"],
        [second.accessToken, "second-fresh-password-42"],
      ].map(([token, next]) => t.request("POST", "/api/auth/me/password", { token, body: { current_password: u.password, new_password: next } })),
    );
    const statuses = [a!.status, b!.status].sort();
    expect(statuses[0]).toBe(200);
    expect([403, 409]).toContain(statuses[1]!);
    const loser = a!.status === 200 ? b! : a!;
    const expected = loser.status === 409 ? IDENTITY_ERRORS.PASSWORD_CHANGED_MEANWHILE.message : IDENTITY_ERRORS.CURRENT_PASSWORD_WRONG.message;
    expect(await json(loser)).toEqual({ detail: expected });
    // The winner's password is the password; the loser's never was.
    const winner = a!.status === 200 ? "first-fresh-password-42" : "second-fresh-password-42";
    const loserPassword = a!.status === 200 ? "second-fresh-password-42" : "first-fresh-password-42";
    const signIn = (password: string) => t.request("POST", "/api/v1/chat/authenticate", { body: { username: u.user.email, password } });
    expect((await signIn(loserPassword)).status).toBe(401);
    expect((await signIn(winner)).status).toBe(200);
  });
});

describe("fields a closed body does not take", () => {
  test("a webhook PATCH with a misspelt field is 400 naming the fields, and changes nothing (not even updated_at)", async () => {
    const made = await json(await t.request("POST", "/api/admin/webhooks", { ...A(), body: { url: "https://example.com/closed", events: ["*"] } }));
    const before = await counts();
    const typo = await t.request("PATCH", `/api/admin/webhooks/${made.id}`, { ...A(), body: { enable: false } });
    expect([typo.status, await json(typo)]).toEqual([
      400,
      { message: HTTP_ERRORS.UNKNOWN_FIELD.message("body", ["url", "events", "description", "enabled", "rotate_secret"]), status: 400 },
    ]);
    const extra = await t.request("POST", "/api/admin/webhooks", { ...A(), body: { url: "https://example.com/x", events: ["*"], secret: "mine" } });
    expect([extra.status, await json(extra)]).toEqual([400, { message: HTTP_ERRORS.UNKNOWN_FIELD.message("body", ["url", "events", "description"]), status: 400 }]);
    expect(await counts()).toEqual(before);
    expect(await json(await t.request("GET", `/api/admin/webhooks/${made.id}`, A()))).toEqual(made.secret ? (({ secret, ...rest }) => rest)(made) : made);
  });

  test("nested: a key's rate_limit with an unknown field is 422 naming where", async () => {
    const key = await createKey(t, { level: "read", owner: user });
    const res = await t.request("PATCH", `/api/auth/api-keys/${key.id}`, { ...A(), body: { rate_limit: { limit: 5, window_s: 60, burst: 10 } } });
    expect([res.status, await json(res)]).toEqual([422, { detail: HTTP_ERRORS.UNKNOWN_FIELD.message("body.rate_limit", ["limit", "window_s"]) }]);
    const ok = await t.request("PATCH", `/api/auth/api-keys/${key.id}`, { ...A(), body: { rate_limit: null } });
    expect(ok.status).toBe(200);
    // Inside an open body too: creating a key takes other fields, its rate_limit does not.
    const keysBefore = (await json(await t.request("GET", `/api/auth/api-keys?user_id=${user.user.id}`, A()))).length;
    const made = await t.request("POST", "/api/auth/api-keys", { ...A(), body: { name: "n", user_id: user.user.id, rate_limit: { limit: 5, window_s: 60, burst: 10 } } });
    expect([made.status, await json(made)]).toEqual([422, { detail: HTTP_ERRORS.UNKNOWN_FIELD.message("body.rate_limit", ["limit", "window_s"]) }]);
    expect((await json(await t.request("GET", `/api/auth/api-keys?user_id=${user.user.id}`, A()))).length).toBe(keysBefore);
  });
});

describe("open bodies stay open", () => {
  // Elysia marks every object schema additionalProperties: false when it compiles a route: only a
  // model declared closed() may refuse a field. Contract clients send extra fields (grant_type).
  test("a login with fields its model does not name still signs in, before and after the route was compiled", async () => {
    const u = await seedUser(t);
    for (let i = 0; i < 2; i++) {
      const form = await t.request("POST", "/api/auth/token", {
        body: new URLSearchParams({ username: u.user.email, password: u.password, grant_type: "password", scope: "" }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      expect(form.status).toBe(200);
      const chat = await t.request("POST", "/api/v1/chat/authenticate", { body: { username: u.user.email, password: u.password, remember_me: true } });
      expect(chat.status).toBe(200);
    }
    const token = await t.request("PATCH", "/api/admin/tokens/tok_none", { ...A(), body: { description: "x", note: 1 } });
    expect(token.status).toBe(404);
  });
});

describe("webhook targets", () => {
  test("loopback names with a trailing dot are loopback: refused when saved", async () => {
    const before = await counts();
    for (const url of ["https://localhost./", "https://LOCALHOST../x", "https://a.localhost./"]) {
      const res = await t.request("POST", "/api/admin/webhooks", { ...A(), body: { url, events: ["*"] } });
      expect([url, res.status, await json(res)]).toEqual([url, 400, { message: "url: loopback address refused", status: 400 }]);
    }
    expect(await counts()).toEqual(before);
  });
});
