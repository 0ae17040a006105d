import { Elysia, t } from "elysia";
import type { Core } from "../kernel/core";
import { cachedFlowiseProbe } from "./flowise-probe";
import { metricsGuard } from "./metrics-access";
import { errorFamily } from "../http/errors";

export function healthRoutes(ctx: Core) {
  const metricsAllowed = metricsGuard(ctx);
  const flowise = cachedFlowiseProbe(ctx.config);
  return new Elysia({ tags: ["health"] })
    .onTransform(errorFamily("detail"))
    .get("/healthz", () => ({ status: "ok" }), {
      response: t.Object({ status: t.String() }),
      detail: { summary: "The process is up" },
    })
    .get(
      "/readyz",
      async ({ set }) => {
        const details: Record<string, string> = {
          database: ctx.database.kind,
          message_transport: ctx.config.messageTransport,
        };
        if (ctx.config.messageTransport === "none") details.messages = "queued only: no MESSAGE_TRANSPORT configured";
        for (const facts of ctx.readiness) Object.assign(details, facts());
        // Informational: Flowise down makes predictions 503, it does not make chatgate unready.
        const upstream = flowise();
        try {
          await withTimeout(ctx.database.ping(), 2000);
          return { status: "ready", ...details, ...(await upstream) };
        } catch {
          set.status = 503;
          set.headers["retry-after"] = "5";
          return { status: "unavailable", ...details, ...(await upstream), reason: "database not answering" };
        }
      },
      {
        detail: {
          summary: "The database answers (503 otherwise); `flowise` says whether Flowise answers, without affecting readiness",
          description:
            "flowise: reachable | unreachable | misconfigured | error | not configured; flowise_error names the likely mistake " +
            "(FLOWISE_URL ending in /api/v1, a URL answering HTML). With HTTPS on, tls_certificate_expires_at is the served certificate's notAfter.",
          responses: {
            200: { description: "Ready: the database answers" },
            503: { description: "The database does not answer within 2 s; Retry-After says when to ask again" },
          },
        },
      },
    )
    .get(
      "/metrics",
      async ({ request, set }) => {
        await metricsAllowed(request);
        set.headers["content-type"] = "text/plain; version=0.0.4";
        return ctx.metrics.renderAll();
      },
      {
        detail: {
          summary: "Prometheus metrics",
          description: "With METRICS_TOKEN set: `Authorization: Bearer <METRICS_TOKEN>` or an admin's access token, else 401.",
        },
      },
    );
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}
