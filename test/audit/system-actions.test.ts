import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, asc, eq } from "drizzle-orm";
import { auditEvents } from "../../src/db/schema";
import { ensureBootstrapAdmin } from "../../src/identity/users";
import { type FlowiseDouble, startFlowiseDouble } from "../doubles/flowise";
import { json, makeApp, seedUser, type TestApp } from "../helpers";

// Changes no admin request makes: the first admin, users mirrored from the external
// authentication service, chatflows a Flowise sync creates or renames; and webhooks. Each leaves
// exactly one row per action with the right actor and diff, never a secret.

const rowsFor = (t: TestApp, targetId: string) => t.ctx.db.select().from(auditEvents).where(eq(auditEvents.targetId, targetId)).orderBy(asc(auditEvents.at), asc(auditEvents.id));

describe("the bootstrap admin", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp({ ADMIN_EMAIL: "first@example.test", ADMIN_PASSWORD: "first-admin-password-1" });
  });
  afterAll(() => t.close());

  test("user.created by {system, bootstrap}, once: a second start finds the table not empty", async () => {
    const ctx = { db: t.ctx.db, config: t.config, record: t.ctx.services.audit.recorder };
    const made = await ensureBootstrapAdmin(ctx);
    expect(made).toEqual({ email: "first@example.test", password: undefined });
    expect(await ensureBootstrapAdmin(ctx)).toBeUndefined();
    const rows = await t.ctx.db.select().from(auditEvents).where(eq(auditEvents.action, "user.created"));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actorType: "system",
      actorId: "bootstrap",
      targetType: "user",
      changes: { email: [null, "first@example.test"], name: [null, "Administrator"], role: [null, "admin"] },
    });
    expect(JSON.stringify(rows)).not.toContain("first-admin-password-1");
  });
});

describe("users mirrored from AUTH_SERVICE_URL", () => {
  let reply: Record<string, unknown> = {};
  const service = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => Response.json(reply) });
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp({ AUTH_SERVICE_URL: `http://127.0.0.1:${service.port}/verify`, TRUST_PROXY: "true" });
  });
  afterAll(async () => {
    await t.close();
    service.stop(true);
  });
  const login = () =>
    t.request("POST", "/api/v1/chat/authenticate", {
      body: { username: "mirror@example.test", password: "their-password-9" },
      headers: { "x-forwarded-for": "203.0.113.9", "x-request-id": `req-${crypto.randomUUID()}` },
    });

  test("created, then role and name changes: one row each, actor {system, auth_service}, the login's address", async () => {
    reply = { id: "ext-7", email: "mirror@example.test", name: "Mirror", role: "user" };
    const first = await login();
    expect(first.status).toBe(200);
    const id = (await json(first)).user.id as string;
    let rows = await rowsFor(t, id);
    expect(rows.map((r) => r.action)).toEqual(["user.created"]);
    expect(rows[0]).toMatchObject({
      actorType: "system",
      actorId: "auth_service",
      ip: "203.0.113.9",
      requestId: expect.stringMatching(/^req-/),
      changes: { email: [null, "mirror@example.test"], name: [null, "Mirror"], role: [null, "user"] },
    });
    // The same answer again changes nothing and writes nothing.
    expect((await login()).status).toBe(200);
    expect(await rowsFor(t, id)).toHaveLength(1);
    reply = { id: "ext-7", email: "mirror@example.test", name: "Mirror Two", role: "admin" };
    expect((await login()).status).toBe(200);
    // Rows of one transaction share `at` (Postgres's now()): compare them by action.
    rows = (await rowsFor(t, id)).sort((a, b) => a.action.localeCompare(b.action));
    expect(rows.map((r) => [r.action, r.changes])).toEqual([
      ["user.created", expect.anything()],
      ["user.role_changed", { role: ["user", "admin"] }],
      ["user.updated", { name: ["Mirror", "Mirror Two"] }],
    ]);
    expect(JSON.stringify(rows)).not.toContain("their-password-9");
  });
});

describe("POST /api/admin/chatflows/sync", () => {
  const A = { id: "0b7f4c1e-2d3a-4e5f-8a9b-0c1d2e3f4a5b", name: "Support" };
  const B = { id: "1c8e5d2f-3e4b-4f6a-9b0c-1d2e3f4a5b6c", name: "Sales" };
  const flows = [A, B];
  let d: FlowiseDouble;
  let t: TestApp;
  beforeAll(async () => {
    d = await startFlowiseDouble({ apiKey: "k-sync", chatflows: flows, heartbeatMs: 0 });
    t = await makeApp({ FLOWISE_URL: d.url, FLOWISE_API_KEY: "k-sync" });
  });
  afterAll(async () => {
    await t.close();
    await d.stop();
  });

  test("created and renamed chatflows are audited with the admin as actor; an unchanged sync writes nothing", async () => {
    const admin = await seedUser(t, { role: "admin" });
    const sync = () => t.request("POST", "/api/admin/chatflows/sync", { token: admin.accessToken });
    expect((await sync()).status).toBe(200);
    expect((await rowsFor(t, A.id)).map((r) => [r.action, r.actorId, r.changes])).toEqual([
      ["chatflow.created", admin.user.id, { name: [null, "Support"], cost: [null, 1], enabled: [null, true] }],
    ]);
    expect((await sync()).status).toBe(200);
    expect(await rowsFor(t, A.id)).toHaveLength(1);
    A.name = "Support desk";
    expect((await sync()).status).toBe(200);
    const rows = await rowsFor(t, A.id);
    expect(rows.map((r) => [r.action, r.actorType, r.actorId, r.changes])).toEqual([
      ["chatflow.created", "user", admin.user.id, expect.anything()],
      ["chatflow.changed", "user", admin.user.id, { name: ["Support", "Support desk"] }],
    ]);
    expect(await rowsFor(t, B.id)).toHaveLength(1);
  });
});

describe("webhooks", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp({ WEBHOOK_ALLOW_HTTP: "true" });
  });
  afterAll(() => t.close());

  test("created, changed (secret rotated: said, not shown), deleted; a URL's path is never recorded", async () => {
    const admin = await seedUser(t, { role: "admin" });
    const as = (method: string, path: string, body?: unknown) => t.request(method, path, { token: admin.accessToken, body });
    // A chat service's incoming-webhook URL: its path is the credential.
    const url = "http://127.0.0.1:9/services/T0001/B0002/abcdefSECRETpath";
    const made = await as("POST", "/api/admin/webhooks", { url, events: ["api_key.*"], description: "ops" });
    expect(made.status).toBe(201);
    const hook = await json(made);
    const patched = await as("PATCH", `/api/admin/webhooks/${hook.id}`, { enabled: false, rotate_secret: true });
    const rotated = await json(patched);
    expect((await as("PATCH", `/api/admin/webhooks/${hook.id}`, { enabled: false })).status).toBe(200); // no change: no row
    expect((await as("DELETE", `/api/admin/webhooks/${hook.id}`)).status).toBe(204);
    const rows = await t.ctx.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.targetId, hook.id), eq(auditEvents.targetType, "webhook")))
      .orderBy(asc(auditEvents.at), asc(auditEvents.id));
    const shown = expect.stringMatching(/^http:\/\/127\.0\.0\.1:9\/… \([0-9a-f]{8}\)$/);
    expect(rows.map((r) => [r.action, r.actorId, r.changes])).toEqual([
      ["webhook.created", admin.user.id, { url: [null, shown], events: [null, ["api_key.*"]], description: [null, "ops"], enabled: [null, true] }],
      ["webhook.changed", admin.user.id, { enabled: [true, false], rotated: [false, true] }],
      ["webhook.deleted", admin.user.id, { url: [shown, null], events: [["api_key.*"], null] }],
    ]);
    const dump = JSON.stringify(rows);
    for (const secret of ["SECRETpath", "T0001", hook.secret, rotated.secret]) expect(dump).not.toContain(secret);
  });
});
