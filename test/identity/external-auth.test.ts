import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { users } from "../../src/db/schema";
import { json, makeApp, type TestApp } from "../helpers";
import { IDENTITY_ERRORS } from "../../src/identity/errors";

// A stand-in for the external authentication service: a real server on loopback.
type Behaviour = "ok" | "reject" | "error" | "slow" | "garbage";
let behaviour: Behaviour = "ok";
let reply: Record<string, unknown> = {};
const seen: unknown[] = [];
const double = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(req) {
    const body = await req.json();
    seen.push(body);
    switch (behaviour) {
      case "reject":
        return Response.json({ detail: "bad credentials" }, { status: 401 });
      case "error":
        return new Response("boom", { status: 502 });
      case "slow":
        await Bun.sleep(7000);
        return Response.json(reply);
      case "garbage":
        return new Response("<html>", { status: 200 });
      default:
        return Response.json(reply);
    }
  },
});

let t: TestApp;
beforeAll(async () => {
  t = await makeApp({ AUTH_SERVICE_URL: `http://127.0.0.1:${double.port}/verify`, LOGIN_MAX_FAILURES: "50" });
}, 60_000);
afterAll(async () => {
  await t.close();
  double.stop(true);
});

const login = (username: string, password: string) => t.request("POST", "/api/v1/chat/authenticate", { body: { username, password } });

describe("AUTH_SERVICE_URL", () => {
  test("a 2xx user is created locally and returned; the service got exactly the credentials", async () => {
    behaviour = "ok";
    reply = { id: "ext-42", email: "Ext.User@example.test", name: "Ext User", role: "admin", extra: "ignored" };
    const res = await login("ext.user@example.test", "their password");
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.user).toMatchObject({ email: "Ext.User@example.test", name: "Ext User", role: "admin", username: null });
    expect(body.user.id).toMatch(/^usr_/);
    expect(seen.at(-1)).toEqual({ username: "ext.user@example.test", password: "their password" });
    const [row] = await t.ctx.db.select().from(users).where(eq(users.externalId, "ext-42"));
    expect(row!.passwordHash).toBeNull();
    expect((await t.request("GET", "/api/auth/me", { token: body.access_token })).status).toBe(200);
    expect((await t.request("GET", "/api/auth/users", { token: body.access_token })).status).toBe(200);
  });

  test("a second login updates the same local user (by external id), role included", async () => {
    behaviour = "ok";
    reply = { user: { id: "ext-42", email: "ext.user@example.test", name: "Renamed", role: "user" } };
    const before = await json(await login("ext.user@example.test", "pw-123456"));
    expect((await t.request("GET", "/api/auth/users", { token: before.access_token })).status).toBe(403);
    const body = await json(await login("ext.user@example.test", "pw-123456"));
    const rows = await t.ctx.db.select().from(users).where(eq(users.externalId, "ext-42"));
    expect(rows).toHaveLength(1);
    expect(body.user).toMatchObject({ id: rows[0]!.id, name: "Renamed", role: "user" });
  });

  test("a role outside user/admin is ignored", async () => {
    behaviour = "ok";
    reply = { id: "ext-7", email: "seven@example.test", role: "superuser" };
    const body = await json(await login("seven@example.test", "pw-123456"));
    expect(body.user.role).toBe("user");
  });

  test("its 401 is our 401 with the usual body", async () => {
    behaviour = "reject";
    const res = await login("ext.user@example.test", "wrong");
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ detail: IDENTITY_ERRORS.BAD_LOGIN.message });
  });

  test("a 5xx, a non-JSON answer and an unreachable service are 503", async () => {
    for (const b of ["error", "garbage"] as const) {
      behaviour = b;
      const res = await login("ext.user@example.test", "pw-123456");
      expect(res.status).toBe(503);
      expect(await json(res)).toMatchObject({ detail: IDENTITY_ERRORS.AUTH_SERVICE_UNAVAILABLE.message });
    }
    const dead = await makeApp({ AUTH_SERVICE_URL: "http://127.0.0.1:9/verify" });
    try {
      const res = await dead.request("POST", "/api/v1/chat/authenticate", { body: { username: "a@example.test", password: "pw-123456" } });
      expect(res.status).toBe(503);
    } finally {
      await dead.close();
    }
  });

  test("a service slower than the timeout is 503", async () => {
    behaviour = "slow";
    const res = await login("ext.user@example.test", "pw-123456");
    expect(res.status).toBe(503);
  }, 20_000);

  test("a locally disabled user is refused even when the service says yes", async () => {
    behaviour = "ok";
    reply = { id: "ext-9", email: "nine@example.test", name: "Nine" };
    const body = await json(await login("nine@example.test", "pw-123456"));
    await t.ctx.db.update(users).set({ disabledAt: new Date() }).where(eq(users.id, body.user.id));
    expect((await login("nine@example.test", "pw-123456")).status).toBe(401);
  });
});
