import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { json, makeApp, type TestApp, within } from "../helpers";
import { adminOf, createKey, seedBrain } from "./helpers";

// Two instances on one Postgres schema: revocation on A must reach B's cache within a second.
const pg = !!process.env.TEST_DATABASE_URL;

let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  if (!pg) return;
  a = await makeApp();
  b = await makeApp({}, { schema: a.schema });
}, 60_000);
afterAll(async () => {
  if (!pg) return;
  await b.close();
  await a.close();
});

describe("revocation across instances", () => {
  test.if(pg)("a key cached on instance B is refused there within 1 s of its revocation on A", async () => {
    const k = await createKey(a);
    const onB = () => b.request("GET", "/api/auth/validate", { headers: { "x-api-key": k.key } });
    expect((await onB()).status).toBe(200); // B has it cached now
    expect((await onB()).status).toBe(200);
    const res = await a.request("DELETE", `/api-key/${k.id}`, { token: k.owner.accessToken });
    expect(res.status).toBe(200);
    const refused = await within(1000, async () => (await onB()).status === 401);
    expect(refused).toBe(true);
  });

  test.if(pg)("a chat token minted on A dies on B when its key is revoked on A", async () => {
    const k = await createKey(a);
    const brain = await seedBrain(a.ctx.db, { grant: [k.owner.user.id] });
    const { token } = await json(await a.request("POST", `/api-key/chat-token?brain_id=${brain}`, { token: k.key }));
    const onB = () => b.ctx.authn.authenticate(new Request("http://x/", { headers: { authorization: `Bearer ${token}` } }), ["chat"]);
    expect((await onB()).ok).toBe(true);
    const admin = await adminOf(a);
    expect((await a.request("DELETE", `/api/auth/api-keys/${k.id}`, { token: admin.accessToken })).status).toBe(200);
    expect(await within(1000, async () => !(await onB()).ok)).toBe(true);
  });
});

describe("roll across instances", () => {
  test.if(pg)("B honours a roll on A within 1 s: a second roll ends the older secret there too, and grace 0 refuses at once", async () => {
    const k = await createKey(a);
    const onB = (key: string) => b.request("GET", "/api/auth/validate", { headers: { "x-api-key": key } });
    expect((await onB(k.key)).status).toBe(200); // cached on B
    const rollOnA = async (grace_s: number) => json(await a.request("POST", `/api-key/${k.id}/roll`, { token: k.owner.accessToken, body: { grace_s } }));
    const second = await rollOnA(3600);
    expect((await onB(second.key)).status).toBe(200);
    expect((await onB(k.key)).status).toBe(200); // in its grace
    expect((await onB(second.key)).status).toBe(200);
    const third = await rollOnA(0);
    expect(await within(1000, async () => (await onB(second.key)).status === 401)).toBe(true);
    expect((await onB(k.key)).status).toBe(401);
    expect((await onB(third.key)).status).toBe(200);
  });

  test.if(pg)("the grace end holds on B without any notice: the old secret is refused there once it passes", async () => {
    const k = await createKey(a);
    const onB = (key: string) => b.request("GET", "/api/auth/validate", { headers: { "x-api-key": key } });
    const body = await json(await a.request("POST", `/api-key/${k.id}/roll`, { token: k.owner.accessToken, body: { grace_s: 1 } }));
    expect([200, 401]).toContain((await onB(k.key)).status); // cached on B with its grace end (or already past it)
    await Bun.sleep(Math.max(0, Date.parse(body.previous_key_expires_at) - Date.now() + 5));
    expect((await onB(k.key)).status).toBe(401);
    expect((await onB(body.key)).status).toBe(200);
  });
});
