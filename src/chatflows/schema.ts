import { boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { users } from "../identity/schema";

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

// A chatflow is a Flowise chatflow; the brain contract calls the same thing a brain.
export const chatflows = pgTable("chatflows", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  cost: integer("cost").notNull().default(1),
  enabled: boolean("enabled").notNull().default(true),
  createdAt: ts("created_at").notNull().defaultNow(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
  syncedAt: ts("synced_at"),
  // The overrideConfig keys this chatflow accepts; null = the global FLOWISE_OVERRIDE_ALLOW.
  overrideAllow: jsonb("override_allow").$type<string[]>(),
});

export const chatflowAccess = pgTable(
  "chatflow_access",
  {
    chatflowId: text("chatflow_id")
      .notNull()
      .references(() => chatflows.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  // The grants list pages a chatflow's rows newest first.
  (t) => [primaryKey({ columns: [t.chatflowId, t.userId] }), index("chatflow_access_list_idx").on(t.chatflowId, t.createdAt, t.userId)],
);

export type Chatflow = typeof chatflows.$inferSelect;
