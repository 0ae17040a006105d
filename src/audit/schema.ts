import { sql } from "drizzle-orm";
import { index, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

/** `{field: [before, after]}`; never a secret (service.ts drops secret-looking fields). */
export type AuditChanges = Record<string, [unknown, unknown]>;

// Append-only: no route updates or deletes a row; only the retention pruner deletes old ones.
export const auditEvents = pgTable(
  "audit_events",
  {
    // Generated in SQL so batched writers (Stream token issuance) need no ids of their own.
    id: text("id").primaryKey().default(sql`('aud_' || replace(gen_random_uuid()::text, '-', ''))`),
    at: ts("at").notNull().defaultNow(),
    actorType: text("actor_type").notNull(),
    actorId: text("actor_id"),
    action: text("action").notNull(),
    targetType: text("target_type").notNull(),
    targetId: text("target_id"),
    ip: text("ip"),
    requestId: text("request_id"),
    changes: jsonb("changes").$type<AuditChanges>().notNull().default({}),
  },
  (t) => [
    // Newest first, whole log or filtered by one column (keyset on (at, id)).
    index("audit_events_at_idx").on(t.at, t.id),
    index("audit_events_action_idx").on(t.action, t.at, t.id),
    index("audit_events_actor_idx").on(t.actorId, t.at, t.id),
    index("audit_events_target_idx").on(t.targetId, t.at, t.id),
  ],
);

export type AuditEvent = typeof auditEvents.$inferSelect;
