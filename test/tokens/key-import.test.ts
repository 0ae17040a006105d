import { afterEach, describe, expect, test } from "bun:test";
import { decodeProtectedHeader, jwtVerify } from "jose";
import { TokenSigner } from "../../src/kernel/jwt";
import { deriveSigningKeys, TOKEN_KINDS } from "../../src/kernel/signing-keys";

// Importing an HMAC key costs about as much as the signature itself; a signer imports each kind's
// key once and reuses it (jose imports a raw Uint8Array key again on every sign and verify).
const keys = (secret: string) => deriveSigningKeys(new TextEncoder().encode(secret));
const OLD = "an-old-master-secret-of-at-least-32-bytes!!";
const NEW = "the-new-master-secret-of-at-least-32-bytes!";

let restore: (() => void) | undefined;
afterEach(() => restore?.());

function countImports(): () => number {
  const subtle = crypto.subtle as unknown as { importKey: (...a: unknown[]) => unknown };
  const original = subtle.importKey;
  let n = 0;
  subtle.importKey = function (this: unknown, ...args: unknown[]) {
    n++;
    return original.apply(this, args);
  };
  restore = () => void (subtle.importKey = original);
  return () => n;
}

describe("signing keys are imported once", () => {
  test("signing and verifying every kind, current and previous secret, imports no key", async () => {
    const old = new TokenSigner(await keys(OLD), "chatgate");
    const signer = new TokenSigner(await keys(NEW), "chatgate", await keys(OLD));
    // Tokens signed before the rotation still verify, through the previous secret's keys.
    const legacy = await Promise.all(TOKEN_KINDS.map((k) => old.sign(k, { sub: "usr_1", jti: `old_${k}` }, 900)));
    await signer.verify("access", await signer.sign("access", { sub: "usr_0", jti: "warm" }, 900));
    const imports = countImports();
    for (let i = 0; i < 20; i++) {
      for (const kind of TOKEN_KINDS) {
        const token = await signer.sign(kind, { sub: `usr_${i}`, jti: `${kind}_${i}` }, kind === "api" ? null : 900);
        expect((await signer.verify(kind, token)).valid).toBe(true);
      }
    }
    for (const [i, kind] of TOKEN_KINDS.entries()) expect((await signer.verify(kind, legacy[i]!)).valid).toBe(true);
    expect(imports()).toBe(0);
  });

  test("tokens are standard HS256 JWTs with the per-kind HKDF key, kind-separated", async () => {
    const derived = await keys(NEW);
    const signer = new TokenSigner(derived, "chatgate");
    const token = await signer.sign("chat", { sub: "usr_1", jti: "ct_1", brain_id: "b" }, 60);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "chatgate-chat+jwt" });
    const { payload } = await jwtVerify(token, derived.chat, { issuer: "chatgate", audience: "chatgate:chat" });
    expect(payload).toMatchObject({ sub: "usr_1", jti: "ct_1", brain_id: "b" });
    expect(payload.exp! - payload.iat!).toBe(60);
    expect(Math.floor((payload.iat_ms as number) / 1000)).toBe(payload.iat!);
    await expect(jwtVerify(token, derived.access)).rejects.toThrow();
    expect(await signer.verify("access", token)).toEqual({ valid: false, code: "WRONG_KIND" });
  });
});
