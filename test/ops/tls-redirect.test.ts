import { describe, expect, test } from "bun:test";
import { redirectTarget } from "../../src/ops/tls";

const at = (host: string | undefined, path = "/a/b?c=1&d=%20") => new Request(`http://ignored${path}`, { headers: host === undefined ? {} : { host } });

describe("the HTTP → HTTPS redirect target", () => {
  test("same host, path and query; the HTTPS port replaces the plain one, 443 is left out", () => {
    expect(redirectTarget(at("chat.example.com"), 443)).toBe("https://chat.example.com/a/b?c=1&d=%20");
    expect(redirectTarget(at("chat.example.com:80"), 443)).toBe("https://chat.example.com/a/b?c=1&d=%20");
    expect(redirectTarget(at("chat.example.com:8080"), 8443)).toBe("https://chat.example.com:8443/a/b?c=1&d=%20");
    expect(redirectTarget(at("127.0.0.1:80", "/"), 8443)).toBe("https://127.0.0.1:8443/");
    expect(redirectTarget(at("[::1]:80", "/x"), 443)).toBe("https://[::1]/x");
  });

  test("no Host, or one that is not a host name, gets no redirect (400)", () => {
    for (const host of [undefined, "", "evil.example/path", "a b", "user@evil.example", "host:port", "[::1"]) {
      expect(redirectTarget(at(host), 443)).toBeUndefined();
    }
  });
});
