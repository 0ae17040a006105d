import { bigint, index, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

const count = (name: string) => bigint(name, { mode: "number" }).notNull().default(0);

/**
 * Usage rollups (issue 19): one row per (hour, user, API key, chatflow). Every instance adds its
 * in-memory counts with one additive upsert per flush, so rows are sums over all instances.
 * "" stands for "none" in a dimension (an anonymous caller, no key, no chatflow): the primary key
 * needs non-null columns for the upsert to find the row. No foreign keys: usage outlives its
 * users and keys until the retention pruner deletes it.
 */
export const usageRollups = pgTable(
  "usage_rollups",
  {
    bucket: timestamp("bucket", { withTimezone: true, mode: "date" }).notNull(),
    userId: text("user_id").notNull(),
    apiKeyId: text("api_key_id").notNull(),
    chatflowId: text("chatflow_id").notNull(),
    requests: count("requests"),
    predictions: count("predictions"),
    failedPredictions: count("failed_predictions"),
    creditsSpent: count("credits_spent"),
    tokensAccess: count("tokens_access"),
    tokensRefresh: count("tokens_refresh"),
    tokensChat: count("tokens_chat"),
    tokensStream: count("tokens_stream"),
    tokensApi: count("tokens_api"),
    rateLimited: count("rate_limited"),
    logins: count("logins"),
    failedLogins: count("failed_logins"),
    errors: count("errors"),
    serverErrors: count("server_errors"),
  },
  (t) => [
    primaryKey({ columns: [t.bucket, t.userId, t.apiKeyId, t.chatflowId] }),
    // A user's or a key's own usage (GET /api/auth/usage, the console's per-user and per-key charts).
    index("usage_rollups_user_idx").on(t.userId, t.bucket),
    index("usage_rollups_key_idx").on(t.apiKeyId, t.bucket),
  ],
);

export type UsageRollup = typeof usageRollups.$inferSelect;
