// How signing keys are kept: sealed with the master secret, one current key per issuer however
// many instances start at once, replaced when JWT_ALG changes; nothing to rotate with HS256.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq, isNull } from "drizzle-orm";
import { parseArgs, USAGE } from "../../src/cli";
import { signingKeys } from "../../src/db/schema";
import { createLogger } from "../../src/http/logger";
import { createSealer } from "../../src/kernel/signing-keys";
import { SigningKeyStore } from "../../src/signing-keys/service";
import { json, makeApp, seedUser, TEST_JWT_SECRET, type TestApp } from "../helpers";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp({ JWT_ALG: "EdDSA" });
}, 60_000);
afterAll(() => t.close());

const storeFor = (issuer: string, jwtAlg: "EdDSA" | "ES256") =>
  new SigningKeyStore(t.ctx.db, t.ctx.sealer, { issuer, jwtAlg, accessTokenTtlSec: 900 }, t.ctx.bus, createLogger("error"));
const rowsOf = (issuer: string) => t.ctx.db.select().from(signingKeys).where(eq(signingKeys.issuer, issuer));

describe("storage", () => {
  test("private keys are sealed: not in plain text, not openable with another secret or under another kid", async () => {
    const rows = await rowsOf("chatgate");
    expect(rows.length).toBe(2);
    const other = await createSealer(new TextEncoder().encode("another-master-secret-of-32-bytes-or-more"));
    const right = await createSealer(new TextEncoder().encode(TEST_JWT_SECRET));
    for (const r of rows) {
      expect(r.privateKey).toMatch(/^v1\./);
      expect(r.privateKey).not.toContain("PRIVATE KEY");
      expect(JSON.stringify(r.publicJwk)).not.toContain('"d"');
      const der = await right.open(r.privateKey, r.kid);
      expect(Buffer.from(r.privateKey).includes(Buffer.from(der).toString("base64url").slice(0, 20))).toBe(false);
      await expect(other.open(r.privateKey, r.kid)).rejects.toThrow();
      await expect(right.open(r.privateKey, `${r.kid}x`)).rejects.toThrow();
    }
  });

  test("instances starting at once agree on one current key and one next key", async () => {
    const stores = Array.from({ length: 5 }, () => storeFor("race-issuer", "EdDSA"));
    await Promise.all(stores.map((s) => s.start()));
    const kids = new Set(stores.map((s) => s.current()!.kid));
    expect(kids.size).toBe(1);
    const live = await t.ctx.db
      .select()
      .from(signingKeys)
      .where(and(eq(signingKeys.issuer, "race-issuer"), isNull(signingKeys.supersededAt)));
    expect(live.length).toBe(2);
    expect(live.filter((r) => r.activatedAt !== null).map((r) => r.kid)).toEqual([...kids]);
  });

  test("rotations at once leave exactly one current key, and each replaced key a grace period", async () => {
    const stores = Array.from({ length: 3 }, () => storeFor("rotate-issuer", "ES256"));
    await stores[0]!.start();
    const results = await Promise.all(stores.map((s) => s.rotate()));
    expect(new Set(results.map((r) => r.kid)).size).toBe(3);
    const rows = await rowsOf("rotate-issuer");
    expect(rows.filter((r) => r.activatedAt !== null && r.supersededAt === null)).toHaveLength(1);
    for (const r of rows.filter((r) => r.supersededAt !== null)) {
      expect(r.notAfter!.getTime() - r.supersededAt!.getTime()).toBe(stores[0]!.graceSec * 1000);
    }
    expect(stores[0]!.graceSec).toBe(1800 + 60);
  });

  test("a changed JWT_ALG replaces the key, the old one verifying until its grace period ends", async () => {
    const ed = storeFor("switch-issuer", "EdDSA");
    await ed.start();
    const old = ed.current()!.kid;
    const es = storeFor("switch-issuer", "ES256");
    await es.start();
    expect(es.current()!.alg).toBe("ES256");
    expect(es.get(old)?.notAfterMs).toBeGreaterThan(Date.now());
    expect(
      es
        .jwks()
        .map((k) => k.alg)
        .sort(),
    ).toEqual(["ES256", "ES256", "EdDSA"]);
  });
});

describe("JWT_ALG=HS256", () => {
  test("empty JWKS, nothing to rotate", async () => {
    const h = await makeApp();
    try {
      expect(await json(await h.request("GET", "/.well-known/jwks.json"))).toEqual({ keys: [] });
      const admin = await seedUser(h, { role: "admin" });
      const res = await h.request("POST", "/api/admin/signing-keys/rotate", { token: admin.accessToken });
      expect(res.status).toBe(409);
      expect((await json(res)).status).toBe(409);
      expect((await h.request("POST", "/api/admin/signing-keys/rotate")).status).toBe(401);
    } finally {
      await h.close();
    }
  });
});

describe("rotation route and CLI", () => {
  test("admins only", async () => {
    const u = await seedUser(t);
    expect((await t.request("POST", "/api/admin/signing-keys/rotate", { token: u.accessToken })).status).toBe(403);
  });

  test("chatgate keys rotate is a command; JWT_ALG is documented", () => {
    expect(parseArgs(["keys", "rotate"])).toEqual({ kind: "keys-rotate" });
    expect(parseArgs(["keys", "rotate", "now"]).kind).toBe("usage-error");
    expect(parseArgs(["keys"]).kind).toBe("usage-error");
    expect(USAGE).toContain("JWT_ALG");
    expect(USAGE).toContain("keys rotate");
  });
});
