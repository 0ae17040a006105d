import { sql } from "drizzle-orm";
import { check, index, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { users } from "../identity/schema";

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    level: text("level", { enum: ["read", "write", "admin"] }).notNull(),
    environment: text("environment", { enum: ["live", "test"] }).notNull(),
    // SHA-256 of the whole key; the key itself is shown once and never stored.
    keyHash: text("key_hash").notNull(),
    start: text("start").notNull(),
    // After a roll: the secret it replaced, accepted until previous_expires_at (the grace).
    previousKeyHash: text("previous_key_hash"),
    previousExpiresAt: ts("previous_expires_at"),
    allowedDomains: jsonb("allowed_domains").$type<string[]>().notNull().default([]),
    // What the key may do beyond its level: "introspect" (POST /oauth/introspect and /oauth/revoke).
    scopes: jsonb("scopes").$type<string[]>().notNull().default([]),
    createdAt: ts("created_at").notNull().defaultNow(),
    expiresAt: ts("expires_at"),
    revokedAt: ts("revoked_at"),
    lastUsedAt: ts("last_used_at"),
  },
  (t) => [
    uniqueIndex("api_keys_hash_idx").on(t.keyHash),
    uniqueIndex("api_keys_previous_hash_idx").on(t.previousKeyHash),
    // Lists page newest first, all keys or one user's.
    index("api_keys_user_idx").on(t.userId, t.createdAt, t.id),
    index("api_keys_created_idx").on(t.createdAt, t.id),
    check("api_keys_level_check", sql`${t.level} in ('read', 'write', 'admin')`),
  ],
);

export type ApiKey = typeof apiKeys.$inferSelect;
