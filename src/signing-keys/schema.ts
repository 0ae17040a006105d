import { sql } from "drizzle-orm";
import { check, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

// The asymmetric keys of JWT_ALG=EdDSA|ES256, per issuer. The private key is sealed with a key
// derived from the master secret (AES-256-GCM, see kernel/signing-keys.ts): whoever reads the
// database alone cannot sign.
export const signingKeys = pgTable(
  "signing_keys",
  {
    kid: text("kid").primaryKey(),
    issuer: text("issuer").notNull(),
    alg: text("alg", { enum: ["EdDSA", "ES256"] }).notNull(),
    publicJwk: jsonb("public_jwk").$type<Record<string, unknown>>().notNull(),
    privateKey: text("private_key").notNull(),
    createdAt: ts("created_at").notNull().defaultNow(),
    /**
     * When it became the signing key. Null for the next key: published in the JWKS ahead of its
     * use, so resource servers with a cached JWKS already know it when a rotation activates it.
     */
    activatedAt: ts("activated_at"),
    /** Null while the key is current (or next); set when a rotation replaced it. */
    supersededAt: ts("superseded_at"),
    /** Retired after this: every token it signed has expired (set with supersededAt). */
    notAfter: ts("not_after"),
  },
  (t) => [
    // Instances starting at once, or rotating at once, can never agree on two current keys.
    uniqueIndex("signing_keys_current_idx").on(t.issuer).where(sql`${t.activatedAt} is not null and ${t.supersededAt} is null`),
    uniqueIndex("signing_keys_next_idx").on(t.issuer).where(sql`${t.activatedAt} is null`),
    check("signing_keys_alg_check", sql`${t.alg} in ('EdDSA', 'ES256')`),
  ],
);

export type SigningKeyRow = typeof signingKeys.$inferSelect;
