// Hand-made JWTs for attacks: any header, any payload text (duplicate keys included), any signature.
import { createHmac } from "node:crypto";
import { deriveSigningKeys, type SigningKeys } from "../../src/kernel/signing-keys";
import { TEST_JWT_SECRET } from "../helpers";

export const b64url = (s: string | Uint8Array) => Buffer.from(s).toString("base64url");
export const fromB64 = (s: string) => Buffer.from(s, "base64url").toString("utf8");

export interface Parts {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signature: string;
}

export function decode(token: string): Parts {
  const [h, p, s] = token.split(".");
  return { header: JSON.parse(fromB64(h!)), payload: JSON.parse(fromB64(p!)), signature: s ?? "" };
}

const HMAC: Record<string, string> = { HS256: "sha256", HS384: "sha384", HS512: "sha512" };

/** Signs raw header/payload texts with an HMAC key (empty keys allowed, unlike WebCrypto). */
export function hmacSign(alg: "HS256" | "HS384" | "HS512", key: Uint8Array | string, headerText: string, payloadText: string): string {
  const input = `${b64url(headerText)}.${b64url(payloadText)}`;
  return `${input}.${createHmac(HMAC[alg]!, key).update(input).digest("base64url")}`;
}

/** Header and payload objects, JSON-encoded, with a chosen signature text. */
export function withSignature(header: object, payload: object, signature: string): string {
  return `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.${signature}`;
}

export const testSigningKeys = (secret = TEST_JWT_SECRET): Promise<SigningKeys> => deriveSigningKeys(new TextEncoder().encode(secret));
