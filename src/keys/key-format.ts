import { randomBase62, sha256Hex } from "../ids";

// `sk_live_` | `sk_test_` + 24 random base62 chars (~143 bits) + 6 base62 chars of the CRC32 of
// the random part. Like GitHub's tokens, the checksum lets a mistyped or invented key be refused
// without a database lookup; it adds no secrecy (the random part is the secret).

export type KeyEnvironment = "live" | "test";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LENGTH = 24;
const CHECKSUM_LENGTH = 6; // 62^6 > 2^32, so every CRC32 value fits
const KEY_SHAPE = /^sk_(live|test)_([0-9A-Za-z]{30})$/;

export interface NewKey {
  key: string;
  hash: string;
  /** Shown in listings so a user can tell keys apart: prefix + first 4 random chars. */
  start: string;
}

function checksum(random: string): string {
  let n = Bun.hash.crc32(random);
  let out = "";
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export function generateKey(environment: KeyEnvironment): NewKey {
  const random = randomBase62(RANDOM_LENGTH);
  const prefix = `sk_${environment}_`;
  const key = `${prefix}${random}${checksum(random)}`;
  return { key, hash: hashKey(key), start: `${prefix}${random.slice(0, 4)}` };
}

/** The key's environment when its shape and checksum are right, else undefined. No I/O. */
export function parseKey(raw: string): KeyEnvironment | undefined {
  const m = KEY_SHAPE.exec(raw);
  if (!m) return undefined;
  const body = m[2]!;
  const random = body.slice(0, RANDOM_LENGTH);
  if (checksum(random) !== body.slice(RANDOM_LENGTH)) return undefined;
  return m[1] as KeyEnvironment;
}

export const hashKey = (key: string) => sha256Hex(key);
