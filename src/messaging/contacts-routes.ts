import { Elysia, t } from "elysia";
import type { Core } from "../kernel/core";
import { createContact, deleteContact, getContact, listContacts, updateContact } from "./contacts-service";
import { contact, contactInput, contactList, contactPatch, idParams, listQuery, ok } from "./model";
import { MESSAGING_AUTH } from "./auth";
import { errorFamily } from "../http/errors";

export function contactsRoutes(ctx: Core) {
  const { db } = ctx;
  return new Elysia({ prefix: "/api/contacts", tags: ["messaging"] })
    .onTransform(errorFamily("messaging"))
    .use(ctx.auth)
    .post(
      "/",
      async ({ principal, body, set }) => {
        set.status = 201;
        return { success: true as const, contact: await createContact(db, principal.user, body) };
      },
      { ...MESSAGING_AUTH, body: contactInput, response: { 201: t.Object({ success: t.Literal(true), contact }) }, detail: { summary: "Create a contact" } },
    )
    .get("/", async ({ principal, query }) => ({ success: true as const, ...(await listContacts(db, principal.user, query.limit, query.offset)) }), {
      ...MESSAGING_AUTH,
      query: listQuery,
      response: contactList,
      detail: { summary: "List your contacts (admins: all)" },
    })
    .get("/:id", async ({ principal, params }) => ({ success: true as const, contact: await getContact(db, principal.user, params.id) }), {
      ...MESSAGING_AUTH,
      params: idParams,
      response: t.Object({ success: t.Literal(true), contact }),
      detail: { summary: "One contact" },
    })
    .patch("/:id", async ({ principal, params, body }) => ({ success: true as const, contact: await updateContact(db, principal.user, params.id, body) }), {
      ...MESSAGING_AUTH,
      params: idParams,
      body: contactPatch,
      response: t.Object({ success: t.Literal(true), contact }),
      detail: { summary: "Change a contact" },
    })
    .delete(
      "/:id",
      async ({ principal, params }) => {
        await deleteContact(db, principal.user, params.id);
        return { success: true as const };
      },
      { ...MESSAGING_AUTH, params: idParams, response: ok, detail: { summary: "Delete a contact and its messages" } },
    );
}
