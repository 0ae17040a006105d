import { sql } from "drizzle-orm";
import { bigint, boolean, check, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { users } from "./identity";

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
    chatflowId: text("chatflow_id").notNull().references(() => chatflows.id, { onDelete: "cascade" }),
    userId: text("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  // The grants list pages a chatflow's rows newest first.
  (t) => [primaryKey({ columns: [t.chatflowId, t.userId] }), index("chatflow_access_list_idx").on(t.chatflowId, t.createdAt, t.userId)],
);

export const creditBalances = pgTable(
  "credit_balances",
  {
    userId: text("user_id").primaryKey().references(() => users.id, { onDelete: "cascade" }),
    balance: bigint("balance", { mode: "number" }).notNull().default(0),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [check("credit_balances_nonnegative", sql`${t.balance} >= 0`)],
);

export const creditLedger = pgTable(
  "credit_ledger",
  {
    id: bigint("id", { mode: "number" }).generatedAlwaysAsIdentity().primaryKey(),
    userId: text("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    delta: bigint("delta", { mode: "number" }).notNull(),
    kind: text("kind", { enum: ["grant", "charge", "refund"] }).notNull(),
    reason: text("reason").notNull(),
    reservationId: text("reservation_id"),
    createdBy: text("created_by"),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [index("credit_ledger_user_idx").on(t.userId, t.createdAt, t.id)],
);

export const creditReservations = pgTable(
  "credit_reservations",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    amount: bigint("amount", { mode: "number" }).notNull(),
    status: text("status", { enum: ["held", "settled", "refunded"] }).notNull().default("held"),
    chatflowId: text("chatflow_id").notNull(),
    sessionId: text("session_id"),
    // Set just before the first answer content (a non-empty token, a JSON answer) goes to the client.
    startedAt: ts("started_at"),
    createdAt: ts("created_at").notNull().defaultNow(),
    settledAt: ts("settled_at"),
    expiresAt: ts("expires_at").notNull(),
  },
  (t) => [index("credit_reservations_held_idx").on(t.status, t.expiresAt)],
);

export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    scope: text("scope").notNull(),
    userId: text("user_id").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    // Who holds a pending claim: a stale claim can be taken over, and the old holder must then
    // not complete or release the new one.
    claim: text("claim"),
    status: text("status", { enum: ["pending", "done"] }).notNull().default("pending"),
    statusCode: integer("status_code"),
    response: jsonb("response"),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.userId, t.key] })],
);

export const chatSessions = pgTable(
  "chat_sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    chatflowId: text("chatflow_id"),
    name: text("name"),
    topic: text("topic"),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [index("chat_sessions_user_idx").on(t.userId, t.createdAt, t.id)],
);

export const chatMessages = pgTable(
  "chat_messages",
  {
    id: text("id").primaryKey(),
    sessionId: text("session_id").notNull().references(() => chatSessions.id, { onDelete: "cascade" }),
    role: text("role", { enum: ["user", "assistant"] }).notNull(),
    content: text("content").notNull(),
    // Answers: complete / incomplete (cut short) / error (Flowise's error frame). Questions:
    // complete, or failed when the prediction ended without any answer content (refunded).
    status: text("status", { enum: ["complete", "incomplete", "error", "failed"] }).notNull().default("complete"),
    metadata: jsonb("metadata"),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [index("chat_messages_session_idx").on(t.sessionId, t.createdAt)],
);

export type Chatflow = typeof chatflows.$inferSelect;
export type ChatSession = typeof chatSessions.$inferSelect;
export type ChatMessage = typeof chatMessages.$inferSelect;
