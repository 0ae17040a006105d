import { Elysia } from "elysia";
import type { Core } from "../kernel/core";
import type { EventSink } from "../kernel/events";
import type { UsageRecorder } from "../kernel/usage";
import type { AuthOptions } from "../kernel/guard";
import { errorFamily } from "../http/errors";
import { KEY_ERRORS } from "./errors";
import type { ChatflowAccessPolicy } from "../chatflows/access";
import { mintChatToken } from "./chat-token";
import {
  adminCreate,
  adminListed,
  brainQuery,
  chatToken,
  created,
  type KeyRoll,
  keysModels,
  listed,
  listQuery,
  pageQuery,
  patch,
  patched,
  revoked,
  roll,
  rolled,
  userCreate,
  validated,
} from "./model";
import { createdView, createKey, keyExists, KEY_REVOKED, listedView, listKeys, revokeKey, rolledView, rollKey, type NewKeyInput } from "./service";
import { pageOf } from "../http/paging";
import { KEYS_PAGE } from "./model";
import type { ApiKey } from "./schema";
import type { DB } from "../db/client";
import type { PolicyStore } from "../rate-limits/policies";
import { toBody, toQuota } from "../rate-limits/policies";
import type { RateLimitBody } from "../rate-limits/model";
import { actorOf, audit, type AuditTrail, diff, type Recorder } from "../audit/service";
import type { Principal } from "../kernel/principal";
import { requestIdOf } from "../http/core";
import { clientAddress } from "../http/client-address";
import type { RequestIpSource } from "../kernel/principal";

// The documented answer is a bare array: the total travels in a header, so clients that read
// the array keep working and pagers can use X-Total-Count.
function listedPage<R extends ApiKey>(set: { headers: Record<string, string | number> }, page: { rows: R[]; total: number; next: string | null }): R[] {
  set.headers["x-total-count"] = String(page.total);
  if (page.next) set.headers["x-next-cursor"] = page.next;
  return page.rows;
}

// Admin key management also takes an admin-level key of an admin user: the contract's level
// table says `admin` keys include API key management.
const adminAuth: AuthOptions = { accept: ["access", "apiKey"], role: "admin", level: "admin" };

export function keysRoutes(ctx: Core, access: ChatflowAccessPolicy, events: EventSink, limits: PolicyStore, record: Recorder, usage: UsageRecorder) {
  const { db, bus, signer } = ctx;
  const trail = (c: { principal: Principal; request: Request; server: RequestIpSource | null }): AuditTrail => ({
    record,
    actor: actorOf(c.principal, clientAddress(ctx.config, c.server, c.request), requestIdOf(c.request)),
  });
  const graceOf = (body: KeyRoll | null) => body?.grace_s ?? ctx.config.keyRollGraceSec;
  // The key and its quota are written together: a key never exists without the limit asked for.
  const create = async (input: NewKeyInput, rateLimit: RateLimitBody | null | undefined, audited: AuditTrail) => {
    if (rateLimit == null) {
      const made = await createKey(db, input, events, audited);
      return createdView(made.row, made.key);
    }
    const made = await db.transaction(async (tx) => {
      const m = await createKey(tx as unknown as DB, input, events, audited);
      await limits.set("key", m.row.id, toQuota(rateLimit), tx as unknown as DB);
      return m;
    });
    return { ...createdView(made.row, made.key), rate_limit: rateLimit };
  };
  const admin = new Elysia({ prefix: "/api/auth", tags: ["api keys"] })
    .onTransform(errorFamily("detail"))
    .use(ctx.auth)
    .model(keysModels)
    .post(
      "/api-keys",
      async (c) => {
        const { body, set } = c;
        const { name, user_id, level, allowed_domains, environment, expires_at, scopes, rate_limit } = body;
        const made = await create({ userId: user_id, name, level, environment, allowedDomains: allowed_domains, expiresAt: expires_at, scopes }, rate_limit, trail(c));
        set.status = 201;
        return made;
      },
      { auth: adminAuth, body: adminCreate, response: { 201: created }, detail: { summary: "Create an API key for a user (admin)" } },
    )
    .get(
      "/api-keys",
      async ({ query, set }) => {
        const { user_id, q, level, environment, status, after } = query;
        const page = await listKeys(db, { userId: user_id, q, level, environment, status }, pageOf(query, KEYS_PAGE), after);
        return listedPage(set, page).map((r) => ({ ...listedView(r), user_email: r.userEmail }));
      },
      {
        auth: adminAuth,
        query: listQuery,
        response: adminListed,
        detail: { summary: "List API keys without their secrets, newest first; search and filter them (admin)" },
      },
    )
    .patch(
      "/api-keys/:id",
      async (c) => {
        const { params, body } = c;
        await keyExists(db, params.id);
        const before = toBody(await limits.get("key", params.id));
        await db.transaction(async (tx) => {
          await limits.set("key", params.id, toQuota(body.rate_limit), tx as unknown as DB);
          const changes = diff({ rate_limit: before }, { rate_limit: body.rate_limit });
          if (Object.keys(changes).length > 0)
            await audit(tx as unknown as DB, trail(c), { action: "api_key.limits_changed", target: { type: "api_key", id: params.id }, changes });
        });
        return { id: params.id, rate_limit: toBody(await limits.get("key", params.id)) };
      },
      {
        auth: adminAuth,
        body: patch,
        response: patched,
        detail: { summary: "Set an API key's rate limit, or null for none of its own (admin)" },
      },
    )
    .delete(
      "/api-keys/:id",
      async (c) => {
        await revokeKey(db, bus, c.params.id, undefined, events, trail(c));
        return { message: KEY_REVOKED };
      },
      { auth: adminAuth, response: revoked, detail: { summary: "Revoke an API key (admin)" } },
    )
    .post(
      "/api-keys/:id/roll",
      async (c) => {
        const { params, body, set } = c;
        const made = await rollKey(db, bus, params.id, graceOf(body), undefined, trail(c), events);
        set.status = 201;
        return rolledView(made.row, made.key);
      },
      { auth: adminAuth, body: roll, response: { 201: rolled }, detail: { summary: "Give an API key a new secret; the old one works for grace_s more (admin)" } },
    )
    .get("/validate", ({ principal }) => ({ valid: true, level: principal.level!, name: principal.keyName! }), {
      apiKey: "read",
      response: validated,
      detail: { summary: "Check an API key (X-API-Key)" },
    });

  const own = new Elysia({ tags: ["api keys"] })
    .onTransform(errorFamily("brain"))
    .use(ctx.auth)
    .model(keysModels)
    .post(
      "/api-key",
      async (c) => {
        const { body: given, principal } = c;
        const body = given ?? {};
        const level = body.level ?? "write";
        if (level === "admin" && principal.user.role !== "admin") throw KEY_ERRORS.LEVEL_TOO_HIGH();
        return create(
          {
            userId: principal.user.id,
            name: body.name ?? "API key",
            level,
            environment: body.environment,
            allowedDomains: body.allowed_domains,
            expiresAt: body.expires_at,
          },
          body.rate_limit,
          trail(c),
        );
      },
      { access: true, body: userCreate, response: created, detail: { summary: "Create an API key for yourself" } },
    )
    .get(
      "/api-keys",
      async ({ principal, query, set }) => listedPage(set, await listKeys(db, { userId: principal.user.id }, pageOf(query, KEYS_PAGE), query.after)).map(listedView),
      {
        access: true,
        query: pageQuery,
        response: listed,
        detail: { summary: "List your API keys" },
      },
    )
    .delete(
      "/api-key/:key_id",
      async (c) => {
        await revokeKey(db, bus, c.params.key_id, c.principal.user.id, events, trail(c));
        return { message: KEY_REVOKED };
      },
      { access: true, response: revoked, detail: { summary: "Revoke one of your API keys" } },
    )
    .post(
      "/api-key/:key_id/roll",
      async (c) => {
        const { params, body, principal, set } = c;
        const made = await rollKey(db, bus, params.key_id, graceOf(body), principal.user.id, trail(c), events);
        set.status = 201;
        return rolledView(made.row, made.key);
      },
      { access: true, body: roll, response: { 201: rolled }, detail: { summary: "Give one of your API keys a new secret; the old one works for grace_s more" } },
    )
    .post("/api-key/chat-token", ({ query, principal }) => mintChatToken(access, signer, principal, query.brain_id, usage), {
      apiKey: "write",
      query: brainQuery,
      response: chatToken,
      detail: { summary: "A 30-minute chat token for one brain (API key of level write)" },
    });

  return new Elysia().use(admin).use(own);
}
