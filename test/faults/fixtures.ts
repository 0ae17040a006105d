// Chatflows, grants and credits through the documented admin routes.
import type { SeededUser, TestApp } from "../helpers";

async function expectOk(res: Response, what: string): Promise<void> {
  if (!res.ok) throw new Error(`${what}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

/** A chatflow (cost 1 per prediction) with the given id; returns the id. */
export async function seedFlow(t: TestApp, id: string, admin: SeededUser): Promise<string> {
  await expectOk(await t.request("POST", "/api/admin/chatflows", { token: admin.accessToken, body: { id, name: `flow ${id.slice(0, 8)}`, cost: 1 } }), "create chatflow");
  return id;
}

/** Grants the user the chatflow and `credits` credits. */
export async function grantChatflow(t: TestApp, admin: SeededUser, flow: string, userId: string, credits: number): Promise<void> {
  await expectOk(await t.request("PUT", `/api/admin/chatflows/${flow}/users/${userId}`, { token: admin.accessToken }), "grant chatflow");
  if (credits > 0) {
    await expectOk(await t.request("POST", `/api/admin/users/${userId}/credits`, { token: admin.accessToken, body: { amount: credits, reason: "fault test" } }), "grant credits");
  }
}
