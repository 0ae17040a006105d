import { apiTokens, type User } from "../../src/db/schema";
import { newId } from "../../src/ids";
import { json, type TestApp } from "../helpers";

/** An admin-issued API token, minted the way POST /api/admin/tokens does (row + `api` JWT). */
export async function mintApiToken(t: TestApp, user: User, opts: { revoked?: boolean } = {}): Promise<string> {
  const id = newId("tok");
  await t.ctx.db.insert(apiTokens).values({ id, userId: user.id, name: user.name, createdBy: user.id, revokedAt: opts.revoked ? new Date() : null });
  return t.ctx.signer.sign("api", { sub: user.id, jti: id, name: user.name }, null);
}

export async function createContact(t: TestApp, token: string, body: Record<string, unknown> = {}): Promise<any> {
  const res = await t.request("POST", "/api/contacts", { token, body: { name: "Ada", ...body } });
  if (res.status !== 201) throw new Error(`contact: ${res.status} ${await res.text()}`);
  return (await json(res)).contact;
}

export async function createTemplate(t: TestApp, token: string, body: string, name = "greeting"): Promise<any> {
  const res = await t.request("POST", "/api/templates", { token, body: { name, body } });
  if (res.status !== 201) throw new Error(`template: ${res.status} ${await res.text()}`);
  return (await json(res)).template;
}

/** Polls (the worker is asynchronous) until `check` holds or the deadline passes. */
export async function waitFor<T>(what: string, probe: () => Promise<T>, check: (v: T) => boolean, ms = 15000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (check(v)) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)?.slice(0, 500)}`);
    await Bun.sleep(20);
  }
}
