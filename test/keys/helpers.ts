import type { DB } from "../../src/db/client";
import { chatflowAccess, chatflows } from "../../src/db/schema";
import { newId } from "../../src/ids";
import { ApiKeyVerifier } from "../../src/keys/verifier";
import { json, seedUser, type SeededUser, type TestApp } from "../helpers";

// Kept as literals because these tests pin the contract text (the contracts' own words):
// "Invalid or expired API key", "You do not have sufficient permissions for this operation".

export interface SeededKey {
  id: string;
  key: string;
  owner: SeededUser;
}

/** An admin, created once per app, who makes keys through the documented endpoint. */
const admins = new WeakMap<TestApp, SeededUser>();
export async function adminOf(t: TestApp): Promise<SeededUser> {
  let a = admins.get(t);
  if (!a) admins.set(t, (a = await seedUser(t, { role: "admin" })));
  return a;
}

export async function createKey(
  t: TestApp,
  opts: { level?: "read" | "write" | "admin"; owner?: SeededUser; role?: "user" | "admin"; body?: Record<string, unknown> } = {},
): Promise<SeededKey> {
  const owner = opts.owner ?? (await seedUser(t, { role: opts.role ?? "user" }));
  const admin = await adminOf(t);
  const res = await t.request("POST", "/api/auth/api-keys", {
    token: admin.accessToken,
    body: { name: "test key", user_id: owner.user.id, level: opts.level ?? "write", ...opts.body },
  });
  if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${await res.text()}`);
  const body = await json(res);
  return { id: body.id, key: body.key, owner };
}

/** A brain (chatflow) row, optionally granted to some users. */
export async function seedBrain(db: DB, opts: { grant?: string[]; enabled?: boolean } = {}): Promise<string> {
  const id = crypto.randomUUID();
  await db.insert(chatflows).values({ id, name: `brain ${newId("b")}`, enabled: opts.enabled ?? true });
  for (const userId of opts.grant ?? []) await db.insert(chatflowAccess).values({ chatflowId: id, userId });
  return id;
}

/** Wraps a Drizzle handle so every query the code under test starts is counted. */
export function countingDb(db: DB): { db: DB; count: () => number } {
  let n = 0;
  const methods = new Set(["select", "selectDistinct", "insert", "update", "delete", "execute", "transaction", "query"]);
  const proxy = new Proxy(db as object, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof prop === "string" && methods.has(prop)) n++;
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as DB;
  return { db: proxy, count: () => n };
}

export function installCountingVerifier(t: TestApp): { verifier: ApiKeyVerifier; count: () => number } {
  const counted = countingDb(t.ctx.db);
  const verifier = new ApiKeyVerifier(counted.db, t.ctx.config, t.ctx.bus);
  t.ctx.authn.plug({ keys: verifier });
  return { verifier, count: counted.count };
}

export const INVALID_KEY = { detail: "Invalid or expired API key" };
export const FORBIDDEN = { detail: "You do not have sufficient permissions for this operation" };
