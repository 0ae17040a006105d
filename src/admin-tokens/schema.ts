import { index, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { users } from "../identity/schema";

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const apiTokens = pgTable(
  "api_tokens",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    // What the token is for ("billing export", "zapier"): one user's tokens told apart in lists.
    description: text("description"),
    createdBy: text("created_by").notNull(),
    createdAt: ts("created_at").notNull().defaultNow(),
    expiresAt: ts("expires_at"),
    revokedAt: ts("revoked_at"),
    lastUsedAt: ts("last_used_at"),
  },
  (t) => [index("api_tokens_user_idx").on(t.userId, t.createdAt, t.id), index("api_tokens_created_idx").on(t.createdAt, t.id)],
);

export type ApiToken = typeof apiTokens.$inferSelect;
