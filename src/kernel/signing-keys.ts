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
export async function loadMasterSecret(db: DB, opts: { configured?: string; embedded: boolean; dataDir: string }): Promise<Uint8Array<ArrayBuffer>> {
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

/** Encrypts what must be stored but never readable without the master secret (private signing keys). */
export interface KeySealer {
  /** AES-256-GCM; `aad` binds the ciphertext to its row, so it cannot be moved to another. */
  seal(plain: Uint8Array, aad: string): Promise<string>;
  /** Tries the current master secret's key, then the previous one (JWT_SECRET_PREVIOUS). */
  open(sealed: string, aad: string): Promise<Uint8Array>;
}

async function sealingKey(master: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", master, "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new TextEncoder().encode("chatgate-key-sealing"), info: new TextEncoder().encode("chatgate/sealed-keys/v1") },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

const SEALED = /^v1\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]+)$/;

export async function createSealer(master: Uint8Array<ArrayBuffer>, previous?: Uint8Array<ArrayBuffer>): Promise<KeySealer> {
  const keys = [await sealingKey(master), ...(previous ? [await sealingKey(previous)] : [])];
  const enc = (s: string) => new TextEncoder().encode(s);
  return {
    async seal(plain, aad) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: enc(aad) }, keys[0]!, new Uint8Array(plain));
      return `v1.${Buffer.from(iv).toString("base64url")}.${Buffer.from(ct).toString("base64url")}`;
    },
    async open(sealed, aad) {
      const m = SEALED.exec(sealed);
      if (!m) throw new Error("sealed key: unknown format");
      const iv = new Uint8Array(Buffer.from(m[1]!, "base64url"));
      const ct = new Uint8Array(Buffer.from(m[2]!, "base64url"));
      for (const key of keys) {
        try {
          return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: enc(aad) }, key, ct));
        } catch {
          // Not this secret's: try the next.
        }
      }
      throw new Error("sealed key: cannot be opened with the master secret (was JWT_SECRET changed without JWT_SECRET_PREVIOUS?)");
    },
  };
}
