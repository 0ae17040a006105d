import { t } from "elysia";

/** Events per page when the request names no limit. */
export const AUDIT_PAGE = 100;

const instant = (name: string) => t.Optional(t.String({ format: "date-time", error: `${name} must be an ISO 8601 date-time` }));
const id = (name: string) => t.Optional(t.String({ minLength: 1, maxLength: 200, error: `${name} must be 1 to 200 characters` }));

export const auditEvent = t.Object({
  id: t.String(),
  at: t.String(),
  actor: t.Object({ type: t.String(), id: t.Nullable(t.String()) }),
  action: t.String(),
  target: t.Object({ type: t.String(), id: t.Nullable(t.String()) }),
  ip: t.Nullable(t.String()),
  request_id: t.Nullable(t.String()),
  changes: t.Record(t.String(), t.Tuple([t.Unknown(), t.Unknown()])),
});

export type AuditEventView = typeof auditEvent.static;

export const auditQuery = t.Object({
  action: t.Optional(t.String({ minLength: 1, maxLength: 100, error: "action must be 1 to 100 characters" })),
  actor_id: id("actor_id"),
  target_id: id("target_id"),
  since: instant("since"),
  until: instant("until"),
  limit: t.Optional(t.Numeric({ minimum: 1, maximum: 1000, multipleOf: 1, error: "limit: must be a whole number from 1 to 1000" })),
  cursor: t.Optional(t.String({ maxLength: 300, pattern: "^[A-Za-z0-9_-]+$", error: "cursor: must be the next_cursor of a previous page" })),
  format: t.Optional(t.Union([t.Literal("json"), t.Literal("ndjson"), t.Literal("csv")], { error: "format must be json, ndjson or csv" })),
});
export type AuditQuery = typeof auditQuery.static;

export const auditPage = t.Object({ events: t.Array(auditEvent), next_cursor: t.Nullable(t.String()) });
export type AuditPage = typeof auditPage.static;

// The names of the document's components (routes refer to the consts).
export const auditModels = {
  "audit.query": auditQuery,
  "audit.page": auditPage,
};
