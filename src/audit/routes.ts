import { Elysia } from "elysia";
import type { Core } from "../kernel/core";
import { exportEvents } from "./export";
import { errorFamily } from "../http/errors";
import { AUDIT_PAGE, auditModels, auditQuery } from "./model";
import { auditCursorOf, auditFilterOf, listEvents } from "./service";

/** Read-only: no route changes or deletes an audit row. */
export function auditRoutes(ctx: Core) {
  return new Elysia({ prefix: "/api/admin", tags: ["audit"] })
    .onTransform(errorFamily("admin"))
    .use(ctx.auth)
    .model(auditModels)
    .get(
      "/audit",
      ({ query }) => {
        const filter = auditFilterOf(query);
        const from = query.cursor === undefined ? undefined : auditCursorOf(query.cursor);
        if (query.format === "ndjson" || query.format === "csv") return exportEvents(ctx.db, filter, query.format, from);
        return listEvents(ctx.db, filter, query.limit ?? AUDIT_PAGE, from);
      },
      {
        admin: true,
        query: auditQuery,
        detail: { summary: "The audit log, newest first; format=ndjson or csv streams the whole selection (admin)" },
      },
    );
}
