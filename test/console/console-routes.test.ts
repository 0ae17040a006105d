// /admin and its assets: served without a token, with a strict CSP and framing/sniffing headers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { GENERATED, renderAssetsModule } from "../../src/console/build";
import { makeApp, type TestApp } from "../helpers";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());

const PATHS: Array<[string, string]> = [
  ["/admin", "text/html"],
  ["/admin/", "text/html"],
  ["/admin/app.js", "text/javascript"],
  ["/admin/app.css", "text/css"],
  ["/admin/favicon.svg", "image/svg+xml"],
];

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .map(([name, ...values]) => [name!, values]),
  );
}

describe("GET /admin and assets", () => {
  for (const [path, type] of PATHS) {
    test(`${path}: 200 without a token, ${type}, security headers`, async () => {
      const res = await t.request("GET", path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toStartWith(type);
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      const csp = directives(res.headers.get("content-security-policy") ?? "");
      expect(csp.get("default-src")).toEqual(["'self'"]);
      expect(csp.get("script-src")).toEqual(["'self'"]);
      expect(csp.get("style-src")).toEqual(["'self'"]);
      expect(csp.get("frame-ancestors")).toEqual(["'none'"]);
      expect(csp.get("object-src")).toEqual(["'none'"]);
      for (const values of csp.values()) {
        for (const v of values) expect(["'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"]).not.toContain(v);
      }
      expect((await res.text()).length).toBeGreaterThan(100);
      // The favicon is the binary's own: no scripts in it (it is served same-origin as an image).
      if (path.endsWith(".svg")) expect(await (await t.request("GET", path)).text()).not.toMatch(/<script|\son\w+=/i);
    });
  }

  test("the page has no inline script or style and loads only same-origin assets", async () => {
    const html = await (await t.request("GET", "/admin")).text();
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style|\sstyle=|\son\w+=/i);
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(refs.sort()).toEqual(["/admin/app.css", "/admin/app.js", "/admin/favicon.svg"]);
  });

  test("the script renders data with text nodes only (no innerHTML, no eval) and keeps tokens out of storage", async () => {
    const js = await (await t.request("GET", "/admin/app.js")).text();
    for (const banned of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "localStorage", "sessionStorage", "document.cookie", "eval("]) {
      expect(js).not.toContain(banned);
    }
    expect(js).toContain("/api/v1/chat/authenticate");
  });

  test("the console is not part of the OpenAPI document", async () => {
    const doc = (await (await t.request("GET", "/swagger/json")).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith("/admin"))).toEqual([]);
  });

  test("src/console/assets.gen.ts is the bundle of src/console/ui (run src/console/build.ts)", async () => {
    expect(readFileSync(GENERATED, "utf8")).toBe(await renderAssetsModule());
  });
});
