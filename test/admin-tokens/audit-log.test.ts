import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeJwt } from "jose";
import { json, makeApp, seedUser, settle, type SeededUser, type TestApp } from "../helpers";

let t: TestApp;
let admin: SeededUser;
beforeAll(async () => {
  t = await makeApp();
  admin = await seedUser(t, { role: "admin" });
}, 60_000);
afterAll(() => t.close());

const linesWith = (msg: string) => t.logs.map((l) => JSON.parse(l)).filter((e) => e.msg === msg);

describe("API token audit log", () => {
  test("issuing and revoking log which token it was (its id), never the token", async () => {
    const u = await seedUser(t);
    const body = await json(await t.request("POST", "/api/admin/tokens", { token: admin.accessToken, body: { userId: u.user.id } }));
    const id = decodeJwt(body.token).jti as string;
    expect((await t.request("DELETE", `/api/admin/tokens/${id}`, { token: admin.accessToken })).status).toBe(200);
    await settle();

    const issued = linesWith("api token issued").filter((e) => e.user_id === u.user.id);
    expect(issued).toHaveLength(1);
    expect(issued[0].id).toBe(id);
    const revoked = linesWith("api token revoked").filter((e) => e.id === id);
    expect(revoked).toHaveLength(1);
    expect(revoked[0].by).toBe(admin.user.id);
    expect(t.logs.some((l) => l.includes(body.token))).toBe(false);
  });
});
