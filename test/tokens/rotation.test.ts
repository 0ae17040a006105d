import { describe, expect, test } from "bun:test";
import { TokenSigner } from "../../src/kernel/jwt";
import { deriveSigningKeys } from "../../src/kernel/signing-keys";

const keys = (secret: string) => deriveSigningKeys(new TextEncoder().encode(secret));
const OLD = "the-master-secret-before-the-rotation-000";
const NEW = "the-master-secret-after-the-rotation-11111";

describe("master secret rotation (JWT_SECRET_PREVIOUS)", () => {
  test("tokens signed with the previous secret still verify during the grace period; new ones use the new secret", async () => {
    const before = new TokenSigner(await keys(OLD), "chatgate");
    const old = await before.sign("access", { sub: "usr_1", jti: "at_1", sid: "s_1" }, 900);
    const during = new TokenSigner(await keys(NEW), "chatgate", await keys(OLD));
    expect((await during.verify("access", old, ["sub", "jti", "sid"])).valid).toBe(true);
    const fresh = await during.sign("access", { sub: "usr_1", jti: "at_2", sid: "s_1" }, 900);
    // The new token is signed with the new secret only: a signer without the old one accepts it.
    const after = new TokenSigner(await keys(NEW), "chatgate");
    expect((await after.verify("access", fresh, ["sub", "jti", "sid"])).valid).toBe(true);
    expect(await after.verify("access", old, ["sub", "jti", "sid"])).toEqual({ valid: false, code: "INVALID" });
    // The previous secret's keys keep their kind separation.
    expect((await during.verify("chat", old, ["sub", "jti"])).valid).toBe(false);
  });
});
