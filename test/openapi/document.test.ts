// The OpenAPI document is checked by the tools clients use (swagger-parser, redocly), and against
// the server itself: what the document says an error looks like is what the server sends.
import SwaggerParser from "@apidevtools/swagger-parser";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { familyOfPath as familyOf } from "../http/path-families";
import { makeApp, type TestApp } from "../helpers";

let t: TestApp;
let doc: Record<string, any>;
const dir = mkdtempSync(join(tmpdir(), "chatgate-openapi-"));

const FAMILY_SCHEMA: Record<string, string> = {
  detail: "DetailError",
  brain: "DetailError",
  admin: "AdminError",
  messaging: "MessagingError",
  stream: "StreamError",
  oauth: "OAuthError",
};

function operations(): { method: string; path: string; op: Record<string, any> }[] {
  return Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ method, path, op })));
}

beforeAll(async () => {
  t = await makeApp();
  doc = await (await t.request("GET", "/swagger/json")).json();
});
afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("OpenAPI document", () => {
  test("is OpenAPI 3.1 and passes swagger-parser's validation", async () => {
    expect(doc.openapi).toBe("3.1.0");
    await SwaggerParser.validate(structuredClone(doc) as any);
  });

  test("passes `redocly lint` (recommended rules) with zero errors", async () => {
    const file = join(dir, "openapi.json");
    writeFileSync(file, JSON.stringify(doc));
    const proc = Bun.spawn(["node_modules/.bin/redocly", "lint", file, "--format=json"], { stdout: "pipe", stderr: "pipe" });
    const out = await new Response(proc.stdout).text();
    await proc.exited;
    const report = JSON.parse(out.slice(out.indexOf("{"))) as { totals: { errors: number }; problems: { severity: string; message: string }[] };
    const errors = report.problems.filter((p) => p.severity === "error").map((p) => p.message);
    expect(errors).toEqual([]);
    expect(report.totals.errors).toBe(0);
  });

  test("every response has a description and every error is in its family's body", () => {
    for (const { method, path, op } of operations()) {
      const want = `#/components/schemas/${FAMILY_SCHEMA[familyOf(path)]}`;
      for (const [status, r] of Object.entries(op.responses as Record<string, any>)) {
        expect(`${method} ${path} ${status}: ${typeof r.description}`).toBe(`${method} ${path} ${status}: string`);
        if (Number(status) < 400 || path === "/readyz") continue;
        expect(`${method} ${path} ${status}: ${r.content?.["application/json"]?.schema?.$ref}`).toBe(`${method} ${path} ${status}: ${want}`);
      }
      expect(Object.keys(op.responses).some((s) => Number(s) >= 500)).toBe(true);
    }
  });

  test("secured operations name their scheme and document 401; public ones say security: []", () => {
    for (const { method, path, op } of operations()) {
      expect(Array.isArray(op.security)).toBe(true);
      if (op.security.length > 0) expect(`${method} ${path}: ${Object.keys(op.responses).includes("401")}`).toBe(`${method} ${path}: true`);
    }
    const contacts = doc.paths["/api/contacts"].get;
    expect(contacts.security).toEqual([{ apiKeyHeader: [] }, { bearerAuth: [] }]);
    expect(doc.paths["/healthz"].get.security).toEqual([]);
  });

  test("JSON routes list application/json only; the token endpoint also form-urlencoded", () => {
    for (const { method, path, op } of operations()) {
      if (!op.requestBody) continue;
      const types = Object.keys(op.requestBody.content);
      const want = path === "/api/auth/token" ? ["application/json", "application/x-www-form-urlencoded"] : ["application/json"];
      expect(`${method} ${path}: ${types.join(",")}`).toBe(`${method} ${path}: ${want.join(",")}`);
      for (const [status, r] of Object.entries(op.responses as Record<string, any>)) {
        for (const type of Object.keys(r.content ?? {})) expect(["application/json", "text/event-stream"]).toContain(type);
        void status;
      }
    }
  });

  test("paths are the documented ones: no trailing slashes", () => {
    const paths = Object.keys(doc.paths);
    expect(paths.filter((p) => p.length > 1 && p.endsWith("/"))).toEqual([]);
    expect(paths).toContain("/api/contacts");
    expect(paths).toContain("/api/templates");
  });

  test("the documented paths without trailing slash are served", async () => {
    for (const path of ["/api/contacts", "/api/templates", "/api/messages"]) {
      const res = await t.request("GET", path);
      expect(`${path} ${res.status}`).toBe(`${path} 401`);
      expect(await res.json()).toEqual({ success: false, error: expect.any(String) });
    }
  });

  test("what the document says a 401 looks like is what each secured route sends", async () => {
    // Operations without a body or required query: with one, some routes validate first.
    for (const { method, path, op } of operations()) {
      const params = (op.parameters ?? []) as { in: string; name: string; required?: boolean; schema: any }[];
      if (!op.security.length || op.requestBody || params.some((p) => p.in === "query" && p.required)) continue;
      const sample = (name: string) => {
        const type = params.find((p) => p.in === "path" && p.name === name)?.schema?.type;
        return type === "integer" || type === "number" ? "1" : "00000000-0000-4000-8000-000000000000";
      };
      const concrete = path.replace(/\{([^}]+)\}/g, (_, name: string) => sample(name));
      const res = await t.request(method.toUpperCase(), concrete, { token: "not-a-token" });
      expect(`${method} ${path} ${res.status}`).toBe(`${method} ${path} 401`);
      const name = op.responses["401"].content["application/json"].schema.$ref.split("/").pop();
      const schema = doc.components.schemas[name];
      const body = await res.json();
      for (const key of schema.required) expect(`${method} ${path} ${key}: ${key in body}`).toBe(`${method} ${path} ${key}: true`);
      const example = Object.values(op.responses["401"].content["application/json"].examples)[0] as { value: object };
      expect(Object.keys(body).sort()).toEqual(Object.keys(example.value).sort());
    }
  });
});

describe("API reference page", () => {
  test("is served from the binary with a CSP: no script or font from elsewhere", async () => {
    const res = await t.request("GET", "/swagger");
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-eval");
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script>(?!<\/script>)/);
    const script = await t.request("GET", "/swagger/scalar.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toContain("javascript");
    expect((await script.text()).length).toBeGreaterThan(100_000);
    const init = await (await t.request("GET", "/swagger/init.js")).text();
    expect(init).toContain('"withDefaultFonts":false');
    expect(init).toContain('"/swagger/json"');
  });
});
