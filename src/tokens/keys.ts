import { eq } from "drizzle-orm";
import type { DB } from "../db/client";
import { settings } from "../db/schema";

export const TOKEN_KINDS = ["access", "refresh", "api", "chat"] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

export type SigningKeys = Record<TokenKind, Uint8Array>;

/**
 * JWT_SECRET when set; otherwise a secret generated once and kept in the database, so restarts
 * (and other instances on the same database) keep sessions valid.
 */
export async function loadMasterSecret(db: DB, configured?: string): Promise<Uint8Array<ArrayBuffer>> {
  if (configured) return new TextEncoder().encode(configured);
  const generated = Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url");
  // Two instances starting together both try; the first insert wins and both read it back.
  await db.insert(settings).values({ key: "jwt_secret", value: generated }).onConflictDoNothing();
  const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.key, "jwt_secret"));
  if (!row) throw new Error("jwt secret could not be stored");
  return new TextEncoder().encode(row.value);
}

/** One HMAC key per token kind (HKDF-SHA256), so a token of one kind never verifies as another. */
export async function deriveSigningKeys(master: Uint8Array<ArrayBuffer>): Promise<SigningKeys> {
  const base = await crypto.subtle.importKey("raw", master, "HKDF", false, ["deriveBits"]);
  const out = {} as SigningKeys;
  for (const kind of TOKEN_KINDS) {
    const bits = await crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: new TextEncoder().encode("chatgate-signing-keys"), info: new TextEncoder().encode(`chatgate/${kind}/v1`) },
      base,
      256,
    );
    out[kind] = new Uint8Array(bits);
  }
  return out;
}
