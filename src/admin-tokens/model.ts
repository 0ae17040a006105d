import { t } from "elysia";
import { pageFields } from "../http/paging";

// Fields are checked by the service so that authentication is answered before validation.
export const issueRequest = t.Optional(
  t.Object({
    userId: t.Optional(t.Unknown({ description: "The id of the user the token authenticates" })),
    expiration: t.Optional(t.Unknown({ description: "ISO-8601 expiry in the future, or null for a token that never expires" })),
    description: t.Optional(t.Unknown({ description: "What the token is for (at most 200 characters), shown in the list; optional" })),
  }),
);

export const issueResponse = t.Object({ success: t.Literal(true), token: t.String(), name: t.String() });
export type IssueResponse = typeof issueResponse.static;

export const apiTokenView = t.Object({
  id: t.String(),
  userId: t.String(),
  name: t.String(),
  description: t.Union([t.String(), t.Null()], { description: "What the token is for; null when none was given" }),
  createdBy: t.String(),
  createdAt: t.String(),
  expiresAt: t.Union([t.String(), t.Null()]),
  revokedAt: t.Union([t.String(), t.Null()]),
  lastUsedAt: t.Union([t.String(), t.Null()]),
  active: t.Boolean(),
});
export type ApiTokenView = typeof apiTokenView.static;

export const TOKENS_PAGE = 100;
export const listQuery = t.Object({ userId: t.Optional(t.String({ maxLength: 100 })), ...pageFields(1000, TOKENS_PAGE) });
export const listResponse = t.Object({
  success: t.Literal(true),
  tokens: t.Array(apiTokenView),
  count: t.Integer({ description: "All matching tokens, regardless of limit/offset" }),
  limit: t.Integer(),
  offset: t.Integer(),
});
export type ApiTokenList = typeof listResponse.static;
export const tokenIdParams = t.Object({ id: t.String({ maxLength: 100 }) });
// Required (null clears it): an optional field sent as null would count as absent.
export const patchRequest = t.Object({ description: t.Unknown({ description: "New description (at most 200 characters); null or empty clears it" }) });
export const revokeResponse = t.Object({ success: t.Literal(true), message: t.String() });
