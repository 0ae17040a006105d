import { Elysia, t } from "elysia";
import { errorFamily } from "../http/errors";
import type { Core } from "../kernel/core";
import { pageOf } from "../http/paging";
import { createInput, deliveriesResponse, delivery, idParams, listResponse, pageQuery, patchInput, webhook, webhookWithSecret, WEBHOOKS_PAGE } from "./model";
import { webhookView, type WebhookService } from "./service";
import type { Recorder } from "../audit/service";
import { trailOf } from "../identity/trail";

/** Event webhooks (issue 18): admin only, admin error bodies (`{message, status}`); changes audited. */
export function webhooksRoutes(ctx: Core, svc: WebhookService, record: Recorder) {
  const audited = { config: ctx.config, record };
  return new Elysia({ prefix: "/api/admin/webhooks", tags: ["webhooks"] })
    .onTransform(errorFamily("admin"))
    .use(ctx.auth)
    .post(
      "",
      async (c) => {
        c.set.status = 201;
        return svc.create(c.body, c.principal.user.id, trailOf(audited, c));
      },
      { admin: true, body: createInput, response: { 201: webhookWithSecret }, detail: { summary: "Add a webhook; its signing secret is shown once (admin)" } },
    )
    .get(
      "",
      async ({ query }) => {
        const page = pageOf(query, WEBHOOKS_PAGE);
        return { ...(await svc.list(page)), ...page };
      },
      { admin: true, query: pageQuery, response: listResponse, detail: { summary: "List webhooks, never their secrets (admin)" } },
    )
    .get("/:id", async ({ params }) => webhookView(await svc.get(params.id)), {
      admin: true,
      params: idParams,
      response: webhook,
      detail: { summary: "One webhook (admin)" },
    })
    .patch("/:id", (c) => svc.update(c.params.id, c.body, trailOf(audited, c)), {
      admin: true,
      params: idParams,
      body: patchInput,
      response: t.Union([webhookWithSecret, webhook]),
      detail: { summary: "Change a webhook; `rotate_secret` answers with a new secret, shown once (admin)" },
    })
    .delete(
      "/:id",
      async (c) => {
        await svc.remove(c.params.id, trailOf(audited, c));
        c.set.status = 204;
      },
      { admin: true, params: idParams, detail: { summary: "Delete a webhook and its delivery history (admin)" } },
    )
    .post(
      "/:id/test",
      async ({ params, set }) => {
        set.status = 202;
        return svc.test(params.id);
      },
      { admin: true, params: idParams, response: { 202: delivery }, detail: { summary: "Queue a webhook.test event to this webhook (admin)" } },
    )
    .get(
      "/:id/deliveries",
      async ({ params, query }) => {
        const page = pageOf(query, WEBHOOKS_PAGE);
        return { ...(await svc.deliveries(params.id, page)), ...page };
      },
      { admin: true, params: idParams, query: pageQuery, response: deliveriesResponse, detail: { summary: "This webhook's deliveries, newest first (admin)" } },
    );
}
