// OpenTelemetry tracing, on only when OTEL_EXPORTER_OTLP_ENDPOINT (or the traces-specific
// variable) is set: a server span per request, client spans for Flowise and the database, W3C
// `traceparent` passed to Flowise, spans sent over OTLP/HTTP by the official exporter (which
// reads the standard OTEL_* variables itself). Off, every call below is a cheap no-op.
import { AsyncLocalStorage } from "node:async_hooks";
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type ContextManager, type Span } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import pkg from "../../package.json";

/**
 * Context in AsyncLocalStorage, plus `enter`: Elysia gives no hook that wraps the handler, but a
 * context entered in the (synchronous) onRequest hook follows the request into its handler.
 */
class RequestContextManager implements ContextManager {
  private readonly als = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.als.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.als.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== "function") return target;
    const self = this;
    return function (this: unknown, ...args: unknown[]) {
      return self.with(ctx, () => (target as (...a: unknown[]) => unknown).apply(this, args));
    } as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.als.disable();
    return this;
  }
  enter(ctx: Context): void {
    this.als.enterWith(ctx);
  }
}

let active: { provider: BasicTracerProvider; contexts: RequestContextManager } | undefined;

export const tracingEnabled = () => active !== undefined;

/** Starts tracing when the environment asks for it; returns whether it did. */
export function startTracing(env: Record<string, string | undefined> = process.env): boolean {
  if (active) return true;
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return false;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": env.OTEL_SERVICE_NAME ?? "chatgate", "service.version": pkg.version }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  const contexts = new RequestContextManager();
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(contexts);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  active = { provider, contexts };
  return true;
}

/** Sends the spans buffered so far now (the batch processor otherwise waits up to 5 s). */
export async function flushTracing(): Promise<void> {
  await active?.provider.forceFlush();
}

/** Sends what is buffered and turns tracing off (shutdown, and tests). */
export async function stopTracing(): Promise<void> {
  if (!active) return;
  const { provider } = active;
  active = undefined;
  await provider.forceFlush().catch(() => {});
  await provider.shutdown().catch(() => {});
  trace.disable();
  context.disable();
  propagation.disable();
}

const tracer = () => trace.getTracer("chatgate", pkg.version);
const headerGetter = { get: (h: Headers, k: string) => h.get(k) ?? undefined, keys: (h: Headers) => [...h.keys()] };

/** The request's server span, continuing an incoming `traceparent`; it becomes the active context. */
export function startServerSpan(request: Request): Span | undefined {
  if (!active) return undefined;
  const path = new URL(request.url).pathname;
  const parent = propagation.extract(ROOT_CONTEXT, request.headers, headerGetter);
  const span = tracer().startSpan(request.method, { kind: SpanKind.SERVER, attributes: { "http.request.method": request.method, "url.path": path } }, parent);
  active.contexts.enter(trace.setSpan(parent, span));
  return span;
}

export function endServerSpan(span: Span | undefined, method: string, route: string, status: number): void {
  if (!span) return;
  span.updateName(`${method} ${route}`);
  span.setAttribute("http.route", route);
  span.setAttribute("http.response.status_code", status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** A client span around one outgoing call, child of whatever is active. */
export async function clientSpan<T>(name: string, attributes: Attributes, fn: (span: Span | undefined) => Promise<T>): Promise<T> {
  if (!active) return fn(undefined);
  const span = tracer().startSpan(name, { kind: SpanKind.CLIENT, attributes });
  try {
    return await context.with(trace.setSpan(context.active(), span), () => fn(span));
  } catch (e) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error)?.name ?? "error" });
    throw e;
  } finally {
    span.end();
  }
}

/**
 * `fetch` to an upstream (Flowise) with a client span and the W3C `traceparent` header. The span
 * covers the wait for the answer's headers; a streamed body may go on after it ends.
 */
export function tracedFetch(name: string, url: string, init: RequestInit & { headers: Record<string, string> }): Promise<Response> {
  if (!active) return fetch(url, init);
  const u = new URL(url);
  return clientSpan(
    name,
    { "http.request.method": init.method ?? "GET", "server.address": u.hostname, "server.port": Number(u.port || 80), "url.path": u.pathname },
    async (span) => {
      const headers = { ...init.headers };
      propagation.inject(context.active(), headers);
      const res = await fetch(url, { ...init, headers });
      span?.setAttribute("http.response.status_code", res.status);
      if (res.status >= 500) span?.setStatus({ code: SpanStatusCode.ERROR });
      return res;
    },
  );
}

/**
 * A database statement's span, child of the active request, ended by the returned function.
 * Only the statement's text goes in (parameters never do: they can be secrets or questions).
 */
export function startDbSpan(system: "postgresql" | "pglite", statement: unknown): (error?: unknown) => void {
  if (!active) return noop;
  const text = typeof statement === "string" ? statement : "";
  const operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? "QUERY";
  const span = tracer().startSpan(`${operation} ${system}`, {
    kind: SpanKind.CLIENT,
    attributes: { "db.system.name": system, "db.operation.name": operation, "db.query.text": text.length > 500 ? `${text.slice(0, 500)}…` : text },
  });
  return (error?: unknown) => {
    if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.name ?? "error" });
    span.end();
  };
}

const noop = () => {};
