import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { eq } from "drizzle-orm";
import type { DB } from "../db/client";
import { settings } from "./schema";
import { assertPrivate, secretFilePath } from "../db/data-dir";

export const TOKEN_KINDS = ["access", "refresh", "api", "chat"] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

export type SigningKeys = Record<TokenKind, Uint8Array>;

const LEGACY_KEY = "jwt_secret";

/**
 * JWT_SECRET (or JWT_SECRET_FILE) when set. Otherwise, on the embedded database only, a secret
 * generated once and kept in its own 0600 file beside the data folder (`<DATA_DIR>.jwt-secret`),
 * never in the database: whoever can read the database must not be able to sign tokens. Earlier
 * versions kept it in the `settings` table; it is moved out (file first, then the row deleted),
 * and the row is deleted whenever a secret is configured.
 */
export async function loadMasterSecret(
  db: DB,
  opts: { configured?: string; embedded: boolean; dataDir: string },
): Promise<Uint8Array<ArrayBuffer>> {
  const encode = (s: string) => new TextEncoder().encode(s);
  const legacy = async () => (await db.select({ value: settings.value }).from(settings).where(eq(settings.key, LEGACY_KEY)))[0]?.value;
  const dropLegacy = () => db.delete(settings).where(eq(settings.key, LEGACY_KEY));
  if (opts.configured) {
    await dropLegacy();
    return encode(opts.configured);
  }
  // loadConfig refuses DATABASE_URL without a secret; this is a second line of defence.
  if (!opts.embedded) throw new Error("JWT_SECRET or JWT_SECRET_FILE is required with DATABASE_URL");
  // A throw-away database gets a throw-away secret.
  if (opts.dataDir.startsWith("memory://")) return encode(generateSecret());
  const file = secretFilePath(opts.dataDir);
  if (existsSync(file)) {
    assertPrivate(file, "master secret file", `chmod 600 ${file}, and rotate the secret (others may have read it)`);
    const value = readFileSync(file, "utf8").trim();
    if (Buffer.byteLength(value) < 32) throw new Error(`master secret file ${file} holds less than 32 bytes`);
    await dropLegacy();
    return encode(value);
  }
  const value = (await legacy()) ?? generateSecret();
  // Exclusive create, owner-only, synced before the database copy is deleted.
  const fd = openSync(file, "wx", 0o600);
  try {
    writeFileSync(fd, `${value}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  await dropLegacy();
  return encode(value);
}

function generateSecret(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url");
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
