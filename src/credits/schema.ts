import { sql } from "drizzle-orm";
import { bigint, check, index, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { users } from "../identity/schema";

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const creditBalances = pgTable(
  "credit_balances",
  {
    userId: text("user_id")
      .primaryKey()
      .references(() => users.id, { onDelete: "cascade" }),
    balance: bigint("balance", { mode: "number" }).notNull().default(0),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [check("credit_balances_nonnegative", sql`${t.balance} >= 0`)],
);

export const creditLedger = pgTable(
  "credit_ledger",
  {
    id: bigint("id", { mode: "number" }).generatedAlwaysAsIdentity().primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
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
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    amount: bigint("amount", { mode: "number" }).notNull(),
    status: text("status", { enum: ["held", "settled", "refunded"] })
      .notNull()
      .default("held"),
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
