import { Elysia, t } from "elysia";
import type { Core } from "../kernel/core";
import { idParams, listQuery, ok, template, templateInput, templateList, templatePatch } from "./model";
import { MESSAGING_AUTH } from "./auth";
import { createTemplate, deleteTemplate, getTemplate, listTemplates, updateTemplate } from "./templates-service";
import { errorFamily } from "../http/errors";

export function templatesRoutes(ctx: Core) {
  const { db } = ctx;
  return new Elysia({ prefix: "/api/templates", tags: ["messaging"] })
    .onTransform(errorFamily("messaging"))
    .use(ctx.auth)
    .post(
      "/",
      async ({ principal, body, set }) => {
        set.status = 201;
        return { success: true as const, template: await createTemplate(db, principal.user, body) };
      },
      { ...MESSAGING_AUTH, body: templateInput, response: { 201: t.Object({ success: t.Literal(true), template }) }, detail: { summary: "Create a template" } },
    )
    .get("/", async ({ principal, query }) => ({ success: true as const, ...(await listTemplates(db, principal.user, query.limit, query.offset)) }), {
      ...MESSAGING_AUTH,
      query: listQuery,
      response: templateList,
      detail: { summary: "List your templates (admins: all)" },
    })
    .get("/:id", async ({ principal, params }) => ({ success: true as const, template: await getTemplate(db, principal.user, params.id) }), {
      ...MESSAGING_AUTH,
      params: idParams,
      response: t.Object({ success: t.Literal(true), template }),
      detail: { summary: "One template" },
    })
    .patch("/:id", async ({ principal, params, body }) => ({ success: true as const, template: await updateTemplate(db, principal.user, params.id, body) }), {
      ...MESSAGING_AUTH,
      params: idParams,
      body: templatePatch,
      response: t.Object({ success: t.Literal(true), template }),
      detail: { summary: "Change a template" },
    })
    .delete(
      "/:id",
      async ({ principal, params }) => {
        await deleteTemplate(db, principal.user, params.id);
        return { success: true as const };
      },
      { ...MESSAGING_AUTH, params: idParams, response: ok, detail: { summary: "Delete a template" } },
    );
}
