import { sql } from "drizzle-orm";
import { boolean, check, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { users } from "../identity/schema";
import { apiKeys } from "../keys/schema";

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const webhooks = pgTable(
  "webhooks",
  {
    id: text("id").primaryKey(),
    url: text("url").notNull(),
    // Exact event types or `prefix.*`.
    events: jsonb("events").$type<string[]>().notNull(),
    description: text("description").notNull().default(""),
    // The signing secret, AES-256-GCM under a key derived from the master secret (secret-box.ts).
    secretEnc: text("secret_enc").notNull(),
    enabled: boolean("enabled").notNull().default(true),
    createdBy: text("created_by"),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [index("webhooks_created_idx").on(t.createdAt, t.id)],
);

// One row per event and endpoint: the webhooks' outbox, drained by the shared leased queue
// (src/db/leased-queue.ts) with the same columns and semantics as `messages`.
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    webhookId: text("webhook_id")
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    // The Standard Webhooks `webhook-id`: one per event, the same on every retry.
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    // The exact bytes that are signed and sent.
    payload: text("payload").notNull(),
    status: text("status", { enum: ["queued", "sent", "failed"] })
      .notNull()
      .default("queued"),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    responseCode: integer("response_code"),
    nextAttemptAt: ts("next_attempt_at").notNull().defaultNow(),
    lockedUntil: ts("locked_until"),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
    sentAt: ts("sent_at"),
  },
  (t) => [
    index("webhook_deliveries_due_idx").on(t.status, t.nextAttemptAt),
    index("webhook_deliveries_hook_idx").on(t.webhookId, t.createdAt, t.id),
    check("webhook_deliveries_status_check", sql`${t.status} in ('queued', 'sent', 'failed')`),
  ],
);

// A row while a user's balance is below their threshold: credits.low fires when it is inserted,
// and the row is deleted when the balance is back at or above it (re-armed).
export const lowCreditAlerts = pgTable("low_credit_alerts", {
  userId: text("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  at: ts("at").notNull().defaultNow(),
});

// Which expiry notices a key has had ("7d", "1d", "expired"), so each is raised once.
export const keyExpiryNotices = pgTable(
  "key_expiry_notices",
  {
    keyId: text("key_id")
      .notNull()
      .references(() => apiKeys.id, { onDelete: "cascade" }),
    notice: text("notice").notNull(),
    at: ts("at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.keyId, t.notice] })],
);

export type Webhook = typeof webhooks.$inferSelect;
export type WebhookDelivery = typeof webhookDeliveries.$inferSelect;
