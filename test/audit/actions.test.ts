import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { desc } from "drizzle-orm";
import { auditEvents } from "../../src/db/schema";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { adminOf, createKey } from "../keys/helpers";

// Every audited action, done through its route, leaves exactly one row with the right diff.
let t: TestApp;
let admin: SeededUser;
beforeAll(async () => {
  t = await makeApp({ LOGIN_MAX_FAILURES: "2", STREAM_API_KEY: "stream-key", STREAM_API_SECRET: "stream-secret-that-is-long-enough-0123456789" });
  admin = await adminOf(t);
}, 60_000);
afterAll(() => t.close());

const allRows = () => t.ctx.db.select().from(auditEvents).orderBy(desc(auditEvents.at), desc(auditEvents.id));

/** Runs `act` and returns the rows it added. */
async function rowsOf(act: () => Promise<unknown>): Promise<(typeof auditEvents.$inferSelect)[]> {
  const before = new Set((await allRows()).map((r) => r.id));
  const res = await act();
  if (res instanceof Response) expect(res.status).toBeLessThan(500);
  return (await allRows()).filter((r) => !before.has(r.id));
}

interface Case {
  action: string;
  /** Does the action; returns what the row must say. */
  run: () => Promise<{ res: Response; targetId: string | null; actorId: string | null; changes: Record<string, unknown> }>;
}

const secrets: string[] = [];
const asAdmin = (method: string, path: string, body?: unknown) => t.request(method, path, { token: admin.accessToken, body });

const cases: Case[] = [
  {
    action: "user.created",
    run: async () => {
      const res = await asAdmin("POST", "/api/auth/users", { email: "created@example.test", password: "Secret-pass-123", name: "Cre Ated", role: "user" });
      secrets.push("Secret-pass-123");
      const body = await json(res.clone());
      return { res, targetId: body.id, actorId: admin.user.id, changes: { email: [null, "created@example.test"], name: [null, "Cre Ated"], role: [null, "user"] } };
    },
  },
  ...(["role", "password", "disabled", "enabled"] as const).map(
    (what): Case => ({
      action: { role: "user.role_changed", password: "user.password_reset", disabled: "user.disabled", enabled: "user.enabled" }[what],
      run: async () => {
        const u = await seedUser(t);
        if (what === "enabled") await asAdmin("PATCH", `/api/auth/users/${u.user.id}`, { disabled: true });
        const patch = { role: { role: "admin" }, password: { password: "New-secret-456" }, disabled: { disabled: true }, enabled: { disabled: false } }[what];
        secrets.push("New-secret-456");
        const changes = { role: { role: ["user", "admin"] }, password: { local_login: [true, true] }, disabled: { disabled: [false, true] }, enabled: { disabled: [true, false] } }[
          what
        ];
        return { res: await asAdmin("PATCH", `/api/auth/users/${u.user.id}`, patch), targetId: u.user.id, actorId: admin.user.id, changes };
      },
    }),
  ),
  {
    action: "api_key.created",
    run: async () => {
      const owner = await seedUser(t);
      const res = await asAdmin("POST", "/api/auth/api-keys", { name: "k", user_id: owner.user.id, level: "read" });
      const body = await json(res.clone());
      secrets.push(body.key);
      const changes = {
        user_id: [null, owner.user.id],
        name: [null, "k"],
        level: [null, "read"],
        environment: [null, "live"],
        allowed_domains: [null, []],
        expires_at: [null, null],
      };
      return { res, targetId: body.id, actorId: admin.user.id, changes };
    },
  },
  {
    action: "api_key.rolled",
    run: async () => {
      const k = await createKey(t);
      secrets.push(k.key);
      const res = await t.request("POST", `/api-key/${k.id}/roll`, { token: k.owner.accessToken, body: { grace_s: 60 } });
      const body = await json(res.clone());
      secrets.push(body.key);
      return {
        res,
        targetId: k.id,
        actorId: k.owner.user.id,
        changes: { start: [k.key.slice(0, 12), body.key.slice(0, 12)], previous_key_expires_at: [null, body.previous_key_expires_at] },
      };
    },
  },
  {
    action: "api_key.revoked",
    run: async () => {
      const k = await createKey(t);
      const res = await asAdmin("DELETE", `/api/auth/api-keys/${k.id}`);
      return { res, targetId: k.id, actorId: admin.user.id, changes: { revoked_at: [null, expect.any(String)] } };
    },
  },
  {
    action: "api_key.limits_changed",
    run: async () => {
      const k = await createKey(t);
      const res = await asAdmin("PATCH", `/api/auth/api-keys/${k.id}`, { rate_limit: { limit: 10, window_s: 60 } });
      return { res, targetId: k.id, actorId: admin.user.id, changes: { rate_limit: [null, { limit: 10, window_s: 60 }] } };
    },
  },
  {
    action: "user.limits_changed",
    run: async () => {
      const u = await seedUser(t);
      const res = await asAdmin("PATCH", `/api/auth/users/${u.user.id}`, { rate_limit: { limit: 20, window_s: 60 } });
      return { res, targetId: u.user.id, actorId: admin.user.id, changes: { rate_limit: [null, { limit: 20, window_s: 60 }] } };
    },
  },
  {
    action: "api_token.issued",
    run: async () => {
      const u = await seedUser(t);
      const res = await asAdmin("POST", "/api/admin/tokens", { userId: u.user.id });
      secrets.push((await json(res.clone())).token);
      return { res, targetId: expect.stringMatching(/^tok_/), actorId: admin.user.id, changes: { user_id: [null, u.user.id], expires_at: [null, null] } };
    },
  },
  {
    action: "api_token.revoked",
    run: async () => {
      const u = await seedUser(t);
      await asAdmin("POST", "/api/admin/tokens", { userId: u.user.id });
      const { tokens } = await json(await asAdmin("GET", `/api/admin/tokens?userId=${u.user.id}`));
      return { res: await asAdmin("DELETE", `/api/admin/tokens/${tokens[0].id}`), targetId: tokens[0].id, actorId: admin.user.id, changes: { revoked: [false, true] } };
    },
  },
  {
    action: "user.revoked_all",
    run: async () => {
      const u = await seedUser(t);
      const res = await t.request("POST", "/api/v1/chat/revoke", { token: u.accessToken, body: { all_tokens: true } });
      return { res, targetId: u.user.id, actorId: u.user.id, changes: { sessions_revoked: [null, expect.any(Number)] } };
    },
  },
  ...(
    [
      ["credits.granted", 50],
      ["credits.corrected", -5],
    ] as const
  ).map(
    ([action, amount]): Case => ({
      action,
      run: async () => {
        const u = await seedUser(t);
        if (amount < 0) await asAdmin("POST", `/api/admin/users/${u.user.id}/credits`, { amount: 10, reason: "seed" });
        const res = await asAdmin("POST", `/api/admin/users/${u.user.id}/credits`, { amount, reason: "support ticket 7" });
        return { res, targetId: u.user.id, actorId: admin.user.id, changes: { amount: [null, amount], reason: [null, "support ticket 7"] } };
      },
    }),
  ),
  ...(["created", "changed", "deleted", "granted", "withdrawn"] as const).map(
    (what): Case => ({
      action: `chatflow.${what}`,
      run: async () => {
        const id = crypto.randomUUID();
        const u = await seedUser(t);
        const create = () => asAdmin("POST", "/api/admin/chatflows", { id, name: "Flow", cost: 2 });
        if (what === "created") return { res: await create(), targetId: id, actorId: admin.user.id, changes: { name: [null, "Flow"], cost: [null, 2], enabled: [null, true] } };
        await create();
        if (what === "changed")
          return { res: await asAdmin("PATCH", `/api/admin/chatflows/${id}`, { cost: 3, name: "Flow" }), targetId: id, actorId: admin.user.id, changes: { cost: [2, 3] } };
        if (what === "deleted") return { res: await asAdmin("DELETE", `/api/admin/chatflows/${id}`), targetId: id, actorId: admin.user.id, changes: { name: ["Flow", null] } };
        const grant = () => asAdmin("PUT", `/api/admin/chatflows/${id}/users/${u.user.id}`);
        if (what === "granted") return { res: await grant(), targetId: id, actorId: admin.user.id, changes: { user_id: [null, u.user.id] } };
        await grant();
        return { res: await asAdmin("DELETE", `/api/admin/chatflows/${id}/users/${u.user.id}`), targetId: id, actorId: admin.user.id, changes: { user_id: [u.user.id, null] } };
      },
    }),
  ),
  {
    action: "stream_token.issued",
    run: async () => {
      const u = await seedUser(t);
      const res = await t.request("POST", "/stream-chat/token", { token: u.accessToken, body: { customer_id: u.user.customerId } });
      expect(res.status).toBe(200);
      secrets.push((await json(res.clone())).token);
      return { res, targetId: String(u.user.customerId), actorId: u.user.id, changes: {} };
    },
  },
  {
    action: "login.failed",
    run: async () => {
      const u = await seedUser(t);
      const res = await t.request("POST", "/api/v1/chat/authenticate", { body: { username: u.user.email, password: "wrong-password-1" } });
      secrets.push("wrong-password-1");
      return { res, targetId: null, actorId: null, changes: { username: [null, u.user.email] } };
    },
  },
];

describe("each audited action leaves exactly one row with its diff", () => {
  for (const c of cases) {
    test(c.action, async () => {
      let expected: Awaited<ReturnType<Case["run"]>> | undefined;
      // Set-up requests inside `run` may add rows of their own: only the rows of the last request count.
      const rows = await rowsOf(async () => {
        expected = await c.run();
        return expected.res;
      });
      const mine = rows.filter((r) => r.action === c.action && (expected!.targetId === null || r.targetId !== null));
      const last = mine[0];
      expect(last).toBeDefined();
      expect(rows.filter((r) => r.requestId === last!.requestId)).toHaveLength(1);
      expect(last).toMatchObject({ action: c.action, targetId: expected!.targetId, actorId: expected!.actorId, changes: expected!.changes });
      expect(last!.requestId).toMatch(/.+/);
      // In-process requests have no peer address: "unknown", or null where a feature stores that as null.
      expect(last!.ip).not.toBe("");
    });
  }

  test("login.throttled: refused attempts past the limit are recorded as throttled", async () => {
    const u = await seedUser(t);
    const attempt = () => t.request("POST", "/api/v1/chat/authenticate", { body: { username: u.user.email, password: "wrong-password-2" } });
    await attempt();
    await attempt();
    const rows = await rowsOf(async () => {
      const res = await attempt();
      expect(res.status).toBe(429);
    });
    expect(rows.map((r) => r.action)).toEqual(["login.throttled"]);
  });

  test("no row holds key, token or password material", async () => {
    const dump = JSON.stringify(await allRows());
    expect(secrets.length).toBeGreaterThan(5);
    for (const s of secrets) expect(dump).not.toContain(s);
    expect(dump).not.toMatch(/sk_(live|test)_[0-9A-Za-z]{20,}/);
    expect(dump).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
    expect(dump).not.toContain("$argon2");
  });
});
