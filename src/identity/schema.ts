import { sql } from "drizzle-orm";
import { bigint, check, index, integer, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const users = pgTable(
  "users",
  {
    id: text("id").primaryKey(),
    email: text("email").notNull(),
    username: text("username"),
    name: text("name").notNull().default(""),
    role: text("role", { enum: ["user", "admin"] })
      .notNull()
      .default("user"),
    // Stream Chat user ids are `customer-{customerId}`; an identity keeps them numeric and unique.
    customerId: integer("customer_id").generatedAlwaysAsIdentity().notNull(),
    passwordHash: text("password_hash"),
    externalId: text("external_id"),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
    disabledAt: ts("disabled_at"),
    // Access tokens issued before this instant are refused (all-tokens revoke, password change).
    tokensValidAfter: ts("tokens_valid_after").notNull().defaultNow(),
    // credits.low fires when the balance drops below this (null: never).
    lowCreditThreshold: bigint("low_credit_threshold", { mode: "number" }),
  },
  (t) => [
    uniqueIndex("users_email_lower_idx").on(sql`lower(${t.email})`),
    uniqueIndex("users_username_lower_idx").on(sql`lower(${t.username})`),
    uniqueIndex("users_customer_id_idx").on(t.customerId),
    uniqueIndex("users_external_id_idx").on(t.externalId),
    // The admin list pages in this order: an index keeps a page cheap at any table size.
    index("users_created_idx").on(t.createdAt, t.id),
    check("users_role_check", sql`${t.role} in ('user', 'admin')`),
  ],
);

// One row per refresh token; a family is one login session and all its rotations.
export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    id: text("id").primaryKey(),
    familyId: text("family_id").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    parentId: text("parent_id"),
    tokenHash: text("token_hash").notNull(),
    createdAt: ts("created_at").notNull().defaultNow(),
    expiresAt: ts("expires_at").notNull(),
    usedAt: ts("used_at"),
    revokedAt: ts("revoked_at"),
    revokedReason: text("revoked_reason"),
    userAgent: text("user_agent"),
  },
  (t) => [index("refresh_tokens_family_idx").on(t.familyId), index("refresh_tokens_user_idx").on(t.userId), uniqueIndex("refresh_tokens_hash_idx").on(t.tokenHash)],
);

export const loginFailures = pgTable("login_failures", {
  key: text("key").primaryKey(),
  windowStart: ts("window_start").notNull(),
  count: integer("count").notNull(),
});

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
export type RefreshToken = typeof refreshTokens.$inferSelect;
