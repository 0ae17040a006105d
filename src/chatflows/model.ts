import { t } from "elysia";
import { pageFields } from "../http/paging";

export const MAX_CHATFLOW_NAME = 200;

const UUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
const name = t.String({ minLength: 1, maxLength: MAX_CHATFLOW_NAME, error: `name: must be 1 to ${MAX_CHATFLOW_NAME} characters` });
const cost = t.Integer({ minimum: 0, maximum: 1_000_000, error: "cost: must be a whole number from 0 to 1000000" });
const enabled = t.Boolean({ error: "enabled: must be true or false" });
export const MAX_OVERRIDE_KEYS = 100;
const OVERRIDE_ALLOW_ERROR = `override_allow: a list of up to ${MAX_OVERRIDE_KEYS} overrideConfig keys (1 to 100 of A-Z a-z 0-9 _ . -), or null`;
// null is meaningful here (back to the global list), unlike "absent" (unchanged on PATCH).
const overrideAllow = t.Union([t.Array(t.String({ pattern: "^[A-Za-z0-9_.-]{1,100}$" }), { maxItems: MAX_OVERRIDE_KEYS }), t.Null()], {
  error: OVERRIDE_ALLOW_ERROR,
  description: "overrideConfig keys this chatflow accepts; null = the global FLOWISE_OVERRIDE_ALLOW",
});

export const chatflowInput = t.Object({
  id: t.String({ pattern: UUID, error: "id: must be the Flowise chatflow id (a UUID)" }),
  name,
  cost: t.Optional(cost),
  enabled: t.Optional(enabled),
  override_allow: t.Optional(overrideAllow),
});
export type ChatflowInput = typeof chatflowInput.static;

export const chatflowPatch = t.Object({
  name: t.Optional(name),
  cost: t.Optional(cost),
  enabled: t.Optional(enabled),
  override_allow: t.Optional(overrideAllow),
});
export type ChatflowPatch = typeof chatflowPatch.static;

export const adminChatflow = t.Object({
  id: t.String(),
  name: t.String(),
  cost: t.Integer(),
  enabled: t.Boolean(),
  created_at: t.String({ format: "date-time" }),
  updated_at: t.String({ format: "date-time" }),
  synced_at: t.Union([t.String({ format: "date-time" }), t.Null()]),
  override_allow: t.Union([t.Array(t.String()), t.Null()], { description: "overrideConfig keys accepted; null = the global FLOWISE_OVERRIDE_ALLOW" }),
  user_count: t.Integer({ description: "Users granted this chatflow" }),
});
export type AdminChatflow = typeof adminChatflow.static;

export const adminChatflowList = t.Object({
  chatflows: t.Array(adminChatflow),
  count: t.Integer({ description: "All chatflows, regardless of limit/offset" }),
  limit: t.Integer(),
  offset: t.Integer(),
});
export type AdminChatflowList = typeof adminChatflowList.static;

export const userChatflowList = t.Object({
  chatflows: t.Array(t.Object({ id: t.String(), name: t.String(), cost: t.Integer() })),
  count: t.Integer(),
});

export const syncResult = t.Object({ created: t.Integer(), updated: t.Integer(), total: t.Integer() });
export type SyncResult = typeof syncResult.static;

export const grantResult = t.Object({ chatflow_id: t.String(), user_id: t.String(), granted: t.Boolean() });

export const grantedUsers = t.Object({
  chatflow_id: t.String(),
  users: t.Array(
    t.Object({
      id: t.String(),
      email: t.String(),
      name: t.String(),
      role: t.Union([t.Literal("user"), t.Literal("admin")]),
      granted_at: t.String({ format: "date-time" }),
    }),
  ),
  count: t.Integer({ description: "All users granted this chatflow, regardless of limit/offset" }),
  limit: t.Integer(),
  offset: t.Integer(),
});
export type GrantedUsers = typeof grantedUsers.static;

export const deletedChatflow = t.Object({ id: t.String(), deleted: t.Literal(true) });

// Any non-empty id: Flowise's own ids are UUIDs, a malformed one is simply not found.
export const chatflowParams = t.Object({ id: t.String({ minLength: 1, maxLength: 200 }) });
export const grantParams = t.Object({ id: t.String({ minLength: 1, maxLength: 200 }), user_id: t.String({ minLength: 1, maxLength: 200 }) });

export const pageQuery = t.Object(pageFields(200, 50));
export const grantsQuery = t.Object(pageFields(1000, 100));

export const chatflowModels = {
  ChatflowInput: chatflowInput,
  ChatflowPatch: chatflowPatch,
  AdminChatflow: adminChatflow,
  AdminChatflowList: adminChatflowList,
  UserChatflowList: userChatflowList,
  ChatflowSyncResult: syncResult,
  ChatflowGrant: grantResult,
  ChatflowUsers: grantedUsers,
};
