import { bigint, check, integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { sql } from "drizzle-orm";

/**
 * Explicit quotas per subject (an API key, a user). No foreign keys: the keys and identity
 * features own those tables, and a policy of a deleted subject is simply never looked up again.
 */
export const rateLimitPolicies = pgTable(
  "rate_limit_policies",
  {
    subjectKind: text("subject_kind", { enum: ["key", "user"] }).notNull(),
    subjectId: text("subject_id").notNull(),
    limit: integer("limit").notNull(),
    windowS: integer("window_s").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.subjectKind, t.subjectId] }),
    check("rate_limit_policies_kind_check", sql`${t.subjectKind} in ('key', 'user')`),
    check("rate_limit_policies_positive", sql`${t.limit} > 0 and ${t.windowS} > 0`),
  ],
);

/**
 * One row per limited subject: the current window (started by its first request, on the
 * database's clock) and how much of its quota the instances have leased so far.
 */
export const rateLimitWindows = pgTable("rate_limit_windows", {
  policyKey: text("policy_key").primaryKey(),
  windowStartMs: bigint("window_start_ms", { mode: "number" }).notNull(),
  windowS: integer("window_s").notNull(),
  granted: integer("granted").notNull(),
  // What the last lease obtained (SET expressions see the old row, so this is new minus old).
  lastGrant: integer("last_grant").notNull(),
  // The window whose ratelimit.exceeded event was queued: the one instance that moves it announces.
  announcedMs: bigint("announced_ms", { mode: "number" }),
});

export type RateLimitPolicyRow = typeof rateLimitPolicies.$inferSelect;
