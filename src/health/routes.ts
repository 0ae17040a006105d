import { Elysia, t } from "elysia";
import type { AppContext } from "../context";

export function healthRoutes(ctx: AppContext) {
  return new Elysia({ tags: ["health"] })
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
        try {
          await withTimeout(ctx.database.ping(), 2000);
          return { status: "ready", ...details };
        } catch {
          set.status = 503;
          set.headers["retry-after"] = "5";
          return { status: "unavailable", ...details, reason: "database not answering" };
        }
      },
      {
        detail: {
          summary: "The database answers (503 otherwise)",
          responses: {
            200: { description: "Ready: the database answers" },
            503: { description: "The database does not answer within 2 s; Retry-After says when to ask again" },
          },
        },
      },
    )
    .get(
      "/metrics",
      ({ set }) => {
        set.headers["content-type"] = "text/plain; version=0.0.4";
        return ctx.metrics.renderAll();
      },
      { detail: { summary: "Prometheus metrics" } },
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
