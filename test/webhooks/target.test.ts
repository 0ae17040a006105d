import { describe, expect, test } from "bun:test";
import { addressClass, checkTarget, checkTargetNow } from "../../src/webhooks/target";

const strict = { allowHttp: false, allowPrivate: false };
const local = { allowHttp: true, allowPrivate: false };
const privateOk = { allowHttp: false, allowPrivate: true };

describe("webhook target validation", () => {
  const table: [string, typeof strict, string | null][] = [
    ["https://hooks.example.com/x", strict, null],
    ["https://203.0.113.7/x", strict, null],
    ["http://hooks.example.com/x", strict, "url: must use https://"],
    ["http://hooks.example.com/x", local, "url: http:// is allowed to loopback only"],
    ["http://127.0.0.1:8080/x", strict, "url: must use https://"],
    ["http://127.0.0.1:8080/x", local, null],
    ["http://localhost:8080/x", local, null],
    ["http://[::1]:8080/x", local, null],
    ["https://127.0.0.1/x", strict, "url: loopback address refused"],
    ["https://localhost/x", strict, "url: loopback address refused"],
    ["https://[::1]/x", strict, "url: loopback address refused"],
    ["https://10.1.2.3/x", strict, "url: private address refused"],
    ["https://10.1.2.3/x", privateOk, null],
    ["https://172.16.0.1/x", strict, "url: private address refused"],
    ["https://172.32.0.1/x", strict, null],
    ["https://192.168.1.1/x", strict, "url: private address refused"],
    ["https://169.254.169.254/latest/meta-data", strict, "url: private address refused"],
    ["https://100.64.0.1/x", strict, "url: private address refused"],
    ["https://0.0.0.0/x", strict, "url: reserved address refused"],
    ["https://[fc00::1]/x", strict, "url: private address refused"],
    ["https://[fd12:3456::1]/x", strict, "url: private address refused"],
    ["https://[fe80::1]/x", strict, "url: private address refused"],
    ["https://[::ffff:10.0.0.1]/x", strict, "url: private address refused"],
    ["https://[::ffff:127.0.0.1]/x", strict, "url: loopback address refused"],
    ["https://[64:ff9b::a00:1]/x", strict, "url: private address refused"],
    ["https://[2606:4700::1111]/x", strict, null],
    ["https://user:pw@hooks.example.com/x", strict, "url: must not carry credentials"],
    ["ftp://hooks.example.com/x", strict, "url: must use https://"],
    ["file:///etc/passwd", strict, "url: must use https://"],
    ["not a url", strict, "url: must be an absolute URL"],
  ];
  test.each(table)("%s (%o) → %s", (url, policy, reason) => {
    const r = checkTarget(url, policy);
    if (reason === null) expect(r).toMatchObject({ ok: true });
    else expect(r).toEqual({ ok: false, reason });
  });

  test("address classes", () => {
    expect(addressClass("8.8.8.8")).toBe("public");
    expect(addressClass("127.0.0.2")).toBe("loopback");
    expect(addressClass("::1")).toBe("loopback");
    expect(addressClass("::")).toBe("reserved");
    expect(addressClass("fe80::1%eth0")).toBe("private");
    expect(addressClass("::ffff:192.168.0.1")).toBe("private");
    expect(addressClass("::ffff:8.8.8.8")).toBe("public");
    expect(addressClass("ff02::1")).toBe("reserved");
  });

  test("at delivery time the host is resolved again: one private answer refuses it (DNS rebinding)", async () => {
    const resolveTo =
      (...ips: string[]) =>
      async () =>
        ips;
    expect(await checkTargetNow("https://hooks.example.com/x", strict, resolveTo("93.184.216.34"))).toMatchObject({ ok: true });
    expect(await checkTargetNow("https://hooks.example.com/x", strict, resolveTo("93.184.216.34", "10.0.0.5"))).toEqual({
      ok: false,
      reason: "host resolves to a private address refused",
    });
    expect(await checkTargetNow("https://hooks.example.com/x", strict, resolveTo("::ffff:127.0.0.1"))).toEqual({
      ok: false,
      reason: "host resolves to a loopback address refused",
    });
    expect(await checkTargetNow("https://nowhere.invalid/x", strict, async () => Promise.reject(new Error("ENOTFOUND")))).toEqual({
      ok: false,
      reason: "host did not resolve",
    });
  });
});
