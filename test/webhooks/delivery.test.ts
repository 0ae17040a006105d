import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { json, type TestApp } from "../helpers";
import { adminApp, deliveriesOf, startReceiver, subscribe } from "./helpers";

let t: TestApp;
let token: string;

beforeAll(async () => {
  ({ t, token } = await adminApp());
});
afterAll(() => t.close());

// The queue row reaches its final state just after the receiver answered: wait for that write.
async function settled(id: string, pred: (d: Awaited<ReturnType<typeof deliveriesOf>>) => boolean) {
  for (;;) {
    const d = await deliveriesOf(t, token, id);
    if (pred(d)) return d;
    await t.ctx.services.webhooks.queue.drainOnce();
  }
}

describe("delivery", () => {
  test("an event reaches a receiver that verifies it with standardwebhooks, exactly once, after an outage", async () => {
    // Down for the first two attempts.
    const rx = startReceiver((n) => (n <= 2 ? 503 : 200));
    try {
      const hook = await subscribe(t, token, rx, ["user.*"]);
      const res = await t.request("POST", "/api/auth/users", { token, body: { email: "outage@example.test", password: "a-long-password-1" } });
      expect(res.status).toBe(201);
      const user = await json(res);
      await rx.until(() => rx.verified.length === 1);
      expect(rx.attempts).toBe(3);
      expect(rx.rejected).toEqual([]);
      const [ev] = rx.verified;
      expect(ev!.type).toBe("user.created");
      expect(ev!.data).toMatchObject({ user_id: user.id, email: "outage@example.test" });
      expect(ev!.headers["webhook-id"]).toBe(ev!.id);
      expect(ev!.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      const [d] = await settled(hook.id, (ds) => ds[0]?.status === "sent");
      expect(d).toMatchObject({ status: "sent", attempts: 3, response_code: 200, event_type: "user.created", event_id: ev!.id });
      // Nothing more is due: a further pass sends nothing again.
      expect(await t.ctx.services.webhooks.queue.drainOnce()).toBe(0);
      expect(rx.verified.length).toBe(1);
    } finally {
      rx.stop();
    }
  });

  test("a receiver with another secret refuses the signature", async () => {
    const rx = startReceiver();
    try {
      const hook = await subscribe(t, token, rx, ["user.created"]);
      rx.setSecret(`whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64")}`);
      await t.request("POST", `/api/admin/webhooks/${hook.id}/test`, { token });
      await rx.until(() => rx.rejected.length === 1);
      expect(rx.verified).toEqual([]);
    } finally {
      rx.stop();
    }
  });

  test("a redirect is not followed: a 3xx is a failed attempt with its code", async () => {
    let followed = 0;
    const elsewhere = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (followed++, new Response("ok")) });
    const rx = startReceiver(() => new Response(null, { status: 302, headers: { location: `http://127.0.0.1:${elsewhere.port}/` } }));
    try {
      const hook = await subscribe(t, token, rx, ["user.created"]);
      const res = await t.request("POST", `/api/admin/webhooks/${hook.id}/test`, { token });
      expect(res.status).toBe(202);
      const [d] = await settled(hook.id, (ds) => (ds[0]?.attempts ?? 0) >= 1 && ds[0]?.last_error !== null);
      expect(d!.response_code).toBe(302);
      expect(d!.last_error).toContain("redirect not followed");
      expect(d!.status).not.toBe("sent");
      expect(followed).toBe(0);
      await t.request("DELETE", `/api/admin/webhooks/${hook.id}`, { token });
    } finally {
      rx.stop();
      elsewhere.stop(true);
    }
  });

  test("the test endpoint sends webhook.test to that webhook; the deliveries list shows it", async () => {
    const rx = startReceiver();
    try {
      const hook = await subscribe(t, token, rx, ["credits.low"]);
      const res = await t.request("POST", `/api/admin/webhooks/${hook.id}/test`, { token });
      expect(res.status).toBe(202);
      const queued = await json(res);
      expect(queued).toMatchObject({ event_type: "webhook.test", status: "queued", attempts: 0 });
      await rx.until(() => rx.verified.length === 1);
      expect(rx.verified[0]).toMatchObject({ type: "webhook.test", data: { webhook_id: hook.id } });
      const list = await settled(hook.id, (ds) => ds[0]?.status === "sent");
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ id: queued.id, status: "sent", attempts: 1, response_code: 200, last_error: null });
    } finally {
      rx.stop();
    }
  });

  test("after MESSAGE_MAX_ATTEMPTS the delivery is failed with the last error and code", async () => {
    const rx = startReceiver(() => 500);
    try {
      const hook = await subscribe(t, token, rx, ["user.created"]);
      await t.request("POST", `/api/admin/webhooks/${hook.id}/test`, { token });
      const [d] = await settled(hook.id, (ds) => ds[0]?.status === "failed");
      expect(d).toMatchObject({ status: "failed", attempts: 5, response_code: 500 });
      expect(d!.last_error).toContain("HTTP 500");
      expect(rx.attempts).toBe(5);
    } finally {
      rx.stop();
    }
  });

  test("secrets are shown once: never in list, get, patch (without rotate) or the logs", async () => {
    const rx = startReceiver();
    try {
      const hook = await subscribe(t, token, rx, ["api_key.*"]);
      expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
      const bodies = [
        await (await t.request("GET", "/api/admin/webhooks", { token })).text(),
        await (await t.request("GET", `/api/admin/webhooks/${hook.id}`, { token })).text(),
        await (await t.request("PATCH", `/api/admin/webhooks/${hook.id}`, { token, body: { description: "renamed" } })).text(),
      ];
      const raw = hook.secret.slice("whsec_".length);
      for (const b of bodies) {
        expect(b).not.toContain(raw);
        expect(b).not.toContain("secret");
      }
      // Stored encrypted, not as given.
      const stored = await t.ctx.db.execute(sql`select secret_enc from webhooks where id = ${hook.id}`);
      expect(JSON.stringify(stored)).not.toContain(raw);
      const rotated = await json(await t.request("PATCH", `/api/admin/webhooks/${hook.id}`, { token, body: { rotate_secret: true } }));
      expect(rotated.secret).toMatch(/^whsec_/);
      expect(rotated.secret).not.toBe(hook.secret);
      rx.setSecret(rotated.secret);
      await t.request("POST", `/api/admin/webhooks/${hook.id}/test`, { token });
      await rx.until(() => rx.verified.length === 1);
      const logs = t.logs.join("\n");
      expect(logs).not.toContain(raw);
      expect(logs).not.toContain(rotated.secret.slice(6));
    } finally {
      rx.stop();
    }
  });
});

describe("routes", () => {
  test("CRUD, admin only, admin error bodies", async () => {
    const rx = startReceiver();
    try {
      const hook = await subscribe(t, token, rx, ["api_key.created"]);
      const got = await json(await t.request("GET", `/api/admin/webhooks/${hook.id}`, { token }));
      expect(got).toMatchObject({ id: hook.id, url: rx.url, events: ["api_key.created"], description: "test receiver", enabled: true });
      const patched = await json(await t.request("PATCH", `/api/admin/webhooks/${hook.id}`, { token, body: { events: ["api_key.*", "credits.low"], enabled: false } }));
      expect(patched).toMatchObject({ events: ["api_key.*", "credits.low"], enabled: false });
      const list = await json(await t.request("GET", "/api/admin/webhooks", { token }));
      expect(list.webhooks.map((w: { id: string }) => w.id)).toContain(hook.id);
      expect((await t.request("DELETE", `/api/admin/webhooks/${hook.id}`, { token })).status).toBe(204);
      const gone = await t.request("GET", `/api/admin/webhooks/${hook.id}`, { token });
      expect(gone.status).toBe(404);
      expect(await json(gone)).toEqual({ message: "Webhook not found", status: 404 });
      expect((await t.request("GET", "/api/admin/webhooks")).status).toBe(401);
      const bad = await t.request("POST", "/api/admin/webhooks", { token, body: { url: rx.url, events: ["api_key.creatd"] } });
      expect(bad.status).toBe(400);
      expect(await json(bad)).toEqual({ message: 'events: unknown event type "api_key.creatd"', status: 400 });
      const ftp = await t.request("POST", "/api/admin/webhooks", { token, body: { url: "ftp://example.com/", events: ["*"] } });
      expect(ftp.status).toBe(400);
      expect((await json(ftp)).message).toBe("url: must use https://");
    } finally {
      rx.stop();
    }
  });
});
