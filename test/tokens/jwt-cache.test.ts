import { describe, expect, test } from "bun:test";
import { deriveSigningKeys } from "../../src/kernel/signing-keys";
import { TokenSigner } from "../../src/kernel/jwt";
import { TEST_JWT_SECRET } from "../helpers";

async function signer() {
  return new TokenSigner(await deriveSigningKeys(new TextEncoder().encode(TEST_JWT_SECRET)), "chatgate-test");
}

describe("verified-token cache", () => {
  test("a token verified as one kind is still refused as another kind on the next call", async () => {
    const s = await signer();
    const access = await s.sign("access", { sub: "usr_1", jti: "at_1", sid: "sess_1" }, 900);
    expect((await s.verify("access", access, ["sub", "jti", "sid"])).valid).toBe(true);
    expect(await s.verify("refresh", access, ["sub", "sid", "jti"])).toEqual({ valid: false, code: "WRONG_KIND" });
  });

  test("a cached token still needs the claims the caller requires", async () => {
    const s = await signer();
    const chat = await s.sign("chat", { sub: "usr_1", jti: "ct_1" }, 900);
    expect((await s.verify("chat", chat, ["sub", "jti"])).valid).toBe(true);
    expect(await s.verify("chat", chat, ["sub", "jti", "brain_id"])).toEqual({ valid: false, code: "INVALID" });
  });
});
