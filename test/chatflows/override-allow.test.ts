// Per-chatflow overrideConfig allow lists: `override_allow` on POST/PATCH /api/admin/chatflows and
// in their JSON; null means the global FLOWISE_OVERRIDE_ALLOW. Predictions follow the chatflow's list.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { FlowiseDouble } from "../doubles/flowise";
import { seedUser, type SeededUser } from "../helpers";
import { post, serve, setBalance, startDouble, type Served } from "../chat/helpers";
import { CHAT_ERRORS } from "../../src/chat/errors";

const OWN = crypto.randomUUID();
const GLOBAL = crypto.randomUUID();
let d: FlowiseDouble;
let s: Served;
let admin: SeededUser;

beforeAll(async () => {
  d = await startDouble([OWN, GLOBAL]);
  s = await serve(d, { FLOWISE_OVERRIDE_ALLOW: "sessionId" });
  admin = await seedUser(s.t, { role: "admin" });
  await setBalance(s.t.ctx.db, admin.user.id, 100);
}, 30_000);
afterAll(async () => {
  await s.stop();
  await d.stop();
});

const admin_ = (method: string, path: string, body?: unknown) => s.t.request(method, path, { token: admin.accessToken, body });
const ask = (chatflow_id: string, overrideConfig: Record<string, unknown>) =>
  post(s.base, "/api/v1/chat/predict", { chatflow_id, question: "q", overrideConfig }, admin.accessToken);

describe("override_allow on the admin chatflow API", () => {
  test("POST takes a list (deduplicated) or nothing (null = the global list); GET and PATCH show it; PATCH null resets", async () => {
    const created = await admin_("POST", "/api/admin/chatflows", { id: OWN, name: "Own list", override_allow: ["temperature", "maxTokens", "temperature"] });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ id: OWN, override_allow: ["temperature", "maxTokens"] });
    const plain = await admin_("POST", "/api/admin/chatflows", { id: GLOBAL, name: "Global list" });
    expect(await plain.json()).toMatchObject({ id: GLOBAL, override_allow: null });

    const list = (await (await admin_("GET", "/api/admin/chatflows")).json()) as { chatflows: { id: string; override_allow: unknown }[] };
    expect(list.chatflows.find((c) => c.id === OWN)?.override_allow).toEqual(["temperature", "maxTokens"]);

    const renamed = await admin_("PATCH", `/api/admin/chatflows/${OWN}`, { name: "Renamed" });
    expect(await renamed.json()).toMatchObject({ name: "Renamed", override_allow: ["temperature", "maxTokens"] });
    const emptied = await admin_("PATCH", `/api/admin/chatflows/${GLOBAL}`, { override_allow: [] });
    expect(await emptied.json()).toMatchObject({ override_allow: [] });
    const reset = await admin_("PATCH", `/api/admin/chatflows/${GLOBAL}`, { override_allow: null });
    expect(reset.status).toBe(200);
    expect(await reset.json()).toMatchObject({ override_allow: null });
  });

  test("bad lists → 400 naming the field, in the admin shape", async () => {
    const msg = "override_allow: a list of up to 100 overrideConfig keys (1 to 100 of A-Z a-z 0-9 _ . -), or null";
    for (const bad of ["temperature", [""], ["has space"], [1], Array.from({ length: 101 }, (_, i) => `k${i}`)]) {
      const res = await admin_("PATCH", `/api/admin/chatflows/${OWN}`, { override_allow: bad });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ message: msg, status: 400 });
      const created = await admin_("POST", "/api/admin/chatflows", { id: crypto.randomUUID(), name: "x", override_allow: bad });
      expect(created.status).toBe(400);
    }
  });
});

describe("predictions follow the chatflow's list", () => {
  test("own list: its keys reach Flowise, others (the global ones too) → 422; null: the global list", async () => {
    await admin_("PATCH", `/api/admin/chatflows/${OWN}`, { override_allow: ["temperature"] });
    await admin_("PATCH", `/api/admin/chatflows/${GLOBAL}`, { override_allow: null });

    expect((await ask(OWN, { temperature: 0.2 })).status).toBe(200);
    expect((d.lastRequest("prediction")!.body as { overrideConfig: unknown }).overrideConfig).toEqual({ temperature: 0.2 });
    const refused = await ask(OWN, { sessionId: "s" });
    expect(refused.status).toBe(422);
    expect(await refused.json()).toEqual({ detail: CHAT_ERRORS.OVERRIDE_REFUSED.message("sessionId") });

    expect((await ask(GLOBAL, { sessionId: "x" })).status).toBe(200);
    expect((await ask(GLOBAL, { temperature: 1 })).status).toBe(422);
  });

  test("a change applies to the next prediction at once", async () => {
    await admin_("PATCH", `/api/admin/chatflows/${OWN}`, { override_allow: ["temperature"] });
    expect((await ask(OWN, { temperature: 0 })).status).toBe(200);
    await admin_("PATCH", `/api/admin/chatflows/${OWN}`, { override_allow: [] });
    expect((await ask(OWN, { temperature: 0 })).status).toBe(422);
  });
});
