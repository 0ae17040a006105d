import { bigint, index, pgTable, text, timestamp } from "drizzle-orm/pg-core";

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

// Append-only feed of revocations; instances replay it at start and follow it via LISTEN/NOTIFY.
export const revocations = pgTable(
  "revocations",
  {
    seq: bigint("seq", { mode: "number" }).generatedAlwaysAsIdentity().primaryKey(),
    kind: text("kind", { enum: ["access", "session", "user", "api_key", "api_token", "chatflow", "api_key_changed", "chat_token", "signing_key"] }).notNull(),
    subject: text("subject").notNull(),
    createdAt: ts("created_at").notNull().defaultNow(),
    // After this instant no token the entry could refuse is still valid, so it may be forgotten.
    expiresAt: ts("expires_at").notNull(),
  },
  (t) => [index("revocations_expires_idx").on(t.expiresAt)],
);

export const settings = pgTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});
