import { createHmac, createSecretKey, type KeyObject } from "node:crypto";

const HEADER = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");

/**
 * Stream Chat user tokens, byte for byte what the SDK's `createToken(userId, exp, iat)` writes
 * (header {alg, typ: JWT}; payload {user_id, exp?, iat}; test/stream-chat/token.test.ts compares
 * them). The SDK signs through jsonwebtoken, which builds a key object from the secret string on
 * every call and validates options each time; here the key is built once.
 */
export class StreamUserTokens {
  private readonly key: KeyObject;

  constructor(secret: string) {
    this.key = createSecretKey(Buffer.from(secret));
  }

  create(userId: string, exp: number | undefined, iat: number): string {
    const payload = exp ? { user_id: userId, exp, iat } : { user_id: userId, iat };
    const input = `${HEADER}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}`;
    return `${input}.${createHmac("sha256", this.key).update(input).digest("base64url")}`;
  }
}
