// /readyz says whether Flowise answers (a field: readiness is the database's alone), and names the
// likely mistake when FLOWISE_URL ends in /api/v1 or answers HTML; start-up logs the same check.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config";
import { checkFlowiseAtStart } from "../../src/health/flowise-probe";
import { createLogger } from "../../src/http/logger";
import { startFlowiseDouble, type FlowiseDouble } from "../doubles/flowise";
import { makeApp } from "../helpers";

const KEY = "flowise-test-key";
let d: FlowiseDouble;
beforeAll(async () => {
  d = await startFlowiseDouble({ apiKey: KEY, heartbeatMs: 0 });
});
afterAll(() => d.stop());

async function readyz(env: Record<string, string>) {
  const t = await makeApp(env);
  try {
    const res = await t.request("GET", "/readyz");
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } finally {
    await t.close();
  }
}

// Each test makes an app on a fresh database; the first one initialises PGlite, which is slow.
const SLOW = 30_000;

describe("/readyz reports Flowise", () => {
  test(
    "reachable",
    async () => {
      const r = await readyz({ FLOWISE_URL: d.url, FLOWISE_API_KEY: KEY });
      expect(r).toMatchObject({ status: 200, body: { status: "ready", flowise: "reachable" } });
      expect(r.body.flowise_error).toBeUndefined();
      expect(d.lastRequest()?.path).toBe("/api/v1/ping");
    },
    SLOW,
  );

  test(
    "not configured",
    async () => {
      const r = await readyz({});
      expect(r).toMatchObject({ status: 200, body: { status: "ready", flowise: "not configured" } });
    },
    SLOW,
  );

  test(
    "unreachable: still ready (Flowise is not chatgate's readiness), with the reason",
    async () => {
      await d.setFault({ kind: "refuse" });
      try {
        const r = await readyz({ FLOWISE_URL: d.url });
        expect(r).toMatchObject({ status: 200, body: { status: "ready", flowise: "unreachable" } });
        expect(String(r.body.flowise_error)).toContain("unreachable");
      } finally {
        await d.setFault(null);
      }
    },
    SLOW,
  );

  test(
    "FLOWISE_URL ending in /api/v1: the error names the mistake",
    async () => {
      const r = await readyz({ FLOWISE_URL: `${d.url}/api/v1/`, FLOWISE_API_KEY: KEY });
      expect(r).toMatchObject({ status: 200, body: { status: "ready", flowise: "misconfigured" } });
      expect(r.body.flowise_error).toBe("FLOWISE_URL ends in /api/v1: set it to Flowise's base URL (chatgate adds /api/v1/...)");
    },
    SLOW,
  );

  test(
    "FLOWISE_URL answering HTML: the error says it is not Flowise's API",
    async () => {
      await d.setFault({ kind: "html" });
      try {
        const r = await readyz({ FLOWISE_URL: d.url, FLOWISE_API_KEY: KEY });
        expect(r).toMatchObject({ status: 200, body: { status: "ready", flowise: "misconfigured" } });
        expect(String(r.body.flowise_error)).toStartWith("FLOWISE_URL answers HTML");
      } finally {
        await d.setFault(null);
      }
    },
    SLOW,
  );

  test(
    "the API key is never in the answer",
    async () => {
      const r = await readyz({ FLOWISE_URL: `${d.url}/api/v1`, FLOWISE_API_KEY: KEY });
      expect(JSON.stringify(r.body)).not.toContain(KEY);
    },
    SLOW,
  );
});

describe("start-up check", () => {
  test("a warning naming the mistake; nothing but info when Flowise answers", async () => {
    const lines: string[] = [];
    const log = createLogger("info", (l) => lines.push(l));
    await checkFlowiseAtStart(loadConfig({ FLOWISE_URL: `${d.url}/api/v1`, FLOWISE_API_KEY: KEY }), log);
    await checkFlowiseAtStart(loadConfig({ FLOWISE_URL: d.url, FLOWISE_API_KEY: KEY }), log);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed[0]).toMatchObject({ level: "warn", msg: "flowise check", flowise: "misconfigured", flowise_error: expect.stringContaining("ends in /api/v1") });
    expect(parsed[1]).toMatchObject({ level: "info", msg: "flowise check", flowise: "reachable" });
    expect(lines.join("\n")).not.toContain(KEY);
  });
});
