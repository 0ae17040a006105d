import { describe, expect, test } from "bun:test";
import { hostAllowed, normaliseDomain, requestHost } from "../../src/keys/domains";
import { generateKey, hashKey, parseKey } from "../../src/keys/key-format";

describe("key format", () => {
  test("live and test keys have the documented prefix, 24 random chars and a 6-char checksum", () => {
    for (const env of ["live", "test"] as const) {
      const k = generateKey(env);
      expect(k.key).toMatch(new RegExp(`^sk_${env}_[0-9A-Za-z]{30}$`));
      expect(k.start).toBe(k.key.slice(0, 12));
      expect(k.hash).toBe(hashKey(k.key));
      expect(k.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(parseKey(k.key)).toBe(env);
    }
  });

  test("keys are distinct", () => {
    const seen = new Set(Array.from({ length: 1000 }, () => generateKey("live").key));
    expect(seen.size).toBe(1000);
  });

  test("every single-character typo, truncation, prefix swap or extension is refused", () => {
    const { key } = generateKey("live");
    const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let typos = 0;
    for (let i = 8; i < key.length; i++) {
      const c = alphabet[(alphabet.indexOf(key[i]!) + 1 + (i % 61)) % 62]!;
      const typo = key.slice(0, i) + c + key.slice(i + 1);
      expect(parseKey(typo)).toBeUndefined();
      typos++;
    }
    expect(typos).toBe(30);
    expect(parseKey(key.slice(0, -1))).toBeUndefined();
    expect(parseKey(`${key}a`)).toBeUndefined();
    expect(parseKey(key.replace("sk_live_", "sk_test_"))).toBe("test"); // checksum covers the random part only
    expect(parseKey(key.replace("sk_live_", "sk_prod_"))).toBeUndefined();
    expect(parseKey("sk_live_abcdefghijklmnopqrst")).toBeUndefined();
    expect(parseKey("")).toBeUndefined();
    expect(parseKey(` ${key}`)).toBeUndefined();
  });
});

describe("allowed domains", () => {
  const req = (headers: Record<string, string>) => new Request("http://localhost/x", { headers });

  test("entries are normalised and junk is refused", () => {
    expect(normaliseDomain("MiApp.com")).toBe("miapp.com");
    expect(normaliseDomain("*.MiApp.com.")).toBe("*.miapp.com");
    for (const bad of ["https://miapp.com", "miapp.com:443", "*", "*.", "a.*.com", "mi app.com", "-a.com", "", "*miapp.com", "miapp.com/x"]) {
      expect(normaliseDomain(bad)).toBeUndefined();
    }
  });

  test("exact hosts match case-insensitively, port ignored", () => {
    expect(hostAllowed("miapp.com", ["miapp.com"])).toBe(true);
    expect(requestHost(req({ origin: "https://MIAPP.com:8443" }))).toBe("miapp.com");
    expect(hostAllowed("www.miapp.com", ["miapp.com"])).toBe(false);
  });

  test("*.host matches subdomains at any depth, not the apex, not lookalikes", () => {
    const d = ["*.example.com"];
    expect(hostAllowed("a.example.com", d)).toBe(true);
    expect(hostAllowed("a.b.example.com", d)).toBe(true);
    expect(hostAllowed("example.com", d)).toBe(false);
    expect(hostAllowed("example.com.evil.com", d)).toBe(false);
    expect(hostAllowed("evilexample.com", d)).toBe(false);
    expect(hostAllowed("a.evilexample.com", d)).toBe(false);
    expect(hostAllowed("evilexample.com", ["example.com"])).toBe(false);
    expect(hostAllowed("example.com.evil.com", ["example.com"])).toBe(false);
  });

  test("the host comes from Origin, else Referer; null or garbage gives none", () => {
    expect(requestHost(req({ referer: "https://app.example.com/page?q=1" }))).toBe("app.example.com");
    expect(requestHost(req({ origin: "https://a.com", referer: "https://b.com/" }))).toBe("a.com");
    expect(requestHost(req({ origin: "null" }))).toBeUndefined();
    expect(requestHost(req({ origin: "not a url" }))).toBeUndefined();
    expect(requestHost(req({}))).toBeUndefined();
  });
});
