// OpenTelemetry: with OTEL_EXPORTER_OTLP_ENDPOINT set, spans reach a local OTLP/HTTP receiver:
// one server span per request (continuing the caller's traceparent), a client span for Flowise
// (whose request carries the traceparent) and for the database, all in one trace.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { flushTracing, startTracing, stopTracing } from "../../src/ops/tracing";
import { FLOWISE_KEY, post, seedChatflow, serve, setBalance, startDouble, type Served } from "../chat/helpers";
import type { FlowiseDouble } from "../doubles/flowise";
import { seedUser } from "../helpers";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}

const SERVER = 2;
const CLIENT = 3;
const FLOW = crypto.randomUUID();
const received: OtlpSpan[] = [];
const bodies: string[] = [];
let receiver: ReturnType<typeof Bun.serve>;
let d: FlowiseDouble;
let s: Served;

beforeAll(async () => {
  // The receiver: OTLP/HTTP with JSON bodies, as the official exporter sends by default.
  receiver = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const text = await req.text();
      if (new URL(req.url).pathname !== "/v1/traces") return new Response("not found", { status: 404 });
      bodies.push(text);
      const doc = JSON.parse(text) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) received.push(...ss.spans);
      return Response.json({});
    },
  });
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${receiver.port}`;
  expect(startTracing(process.env)).toBe(true);
  d = await startDouble([FLOW]);
  s = await serve(d);
}, 30_000);

afterAll(async () => {
  await s.stop();
  await d.stop();
  await stopTracing();
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  receiver.stop(true);
});

const attr = (span: OtlpSpan, key: string) => {
  const v = span.attributes.find((a) => a.key === key)?.value;
  return v && (v.stringValue ?? v.intValue ?? v.boolValue);
};

describe("tracing over OTLP/HTTP", () => {
  test("a prediction is one trace: server span, Flowise client span with traceparent, database spans", async () => {
    const alice = await seedUser(s.t);
    await seedChatflow(s.t.ctx.db, FLOW, { cost: 1, grant: [alice.user.id] });
    await setBalance(s.t.ctx.db, alice.user.id, 5);
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const callerSpan = "00f067aa0ba902b7";
    const question = "a question that must not reach any span";
    const res = await post(s.base, "/api/v1/chat/predict", { chatflow_id: FLOW, question }, alice.accessToken, {
      traceparent: `00-${traceId}-${callerSpan}-01`,
    });
    expect(res.status).toBe(200);
    await res.json();

    // The server span ends after the response is handed over; flush until it has arrived.
    let server: OtlpSpan | undefined;
    for (let i = 0; !server; i++) {
      await flushTracing();
      server = received.find((x) => x.kind === SERVER && x.traceId === traceId);
      if (i > 500) throw new Error(`no server span: ${JSON.stringify(received.map((x) => x.name))}`);
      if (!server) await Bun.sleep(10);
    }
    expect(server.name).toBe("POST /api/v1/chat/predict");
    expect(server.parentSpanId).toBe(callerSpan);
    expect(attr(server, "http.response.status_code")).toBe(200);

    const inTrace = received.filter((x) => x.traceId === traceId);
    const flowise = inTrace.find((x) => x.kind === CLIENT && x.name === "POST flowise prediction")!;
    expect(flowise).toBeDefined();
    expect(flowise.parentSpanId).toBe(server.spanId);
    expect(attr(flowise, "http.response.status_code")).toBe(200);

    // Flowise was told which span called it.
    const upstream = d.lastRequest("prediction")!;
    expect(upstream.headers.traceparent).toBe(`00-${traceId}-${flowise.spanId}-01`);

    const db = inTrace.filter((x) => x.kind === CLIENT && attr(x, "db.system.name") !== undefined);
    expect(db.length).toBeGreaterThan(0);
    for (const span of db) expect(span.parentSpanId).toBe(server.spanId);

    // Statements go in, their parameters never: no question, no key, no token in any span.
    const all = bodies.join("\n");
    expect(all).not.toContain(question);
    expect(all).not.toContain(FLOWISE_KEY);
    expect(all).not.toContain(alice.accessToken);
  }, 60_000);

  test("a request without traceparent starts its own trace", async () => {
    const res = await fetch(`${s.base}/healthz`);
    expect(res.status).toBe(200);
    let server: OtlpSpan | undefined;
    for (let i = 0; !server; i++) {
      await flushTracing();
      server = received.find((x) => x.kind === SERVER && x.name === "GET /healthz");
      if (i > 500) throw new Error("no server span for /healthz");
      if (!server) await Bun.sleep(10);
    }
    expect(server.parentSpanId ?? "").toBe("");
  });
});
