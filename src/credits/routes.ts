import { Elysia } from "elysia";
import type { Core } from "../kernel/core";
import { creditModels, ledgerQuery, userParams } from "./model";
import type { Credits } from "./service";

export function creditsRoutes(ctx: Core, credits: Credits) {
  return new Elysia({ tags: ["credits"] })
    .use(ctx.auth)
    .model(creditModels)
    .get("/api/v1/chat/credits", ({ principal }) => credits.balance(principal.user.id), {
      access: true,
      response: "CreditBalance",
      detail: { summary: "The caller's credit balance" },
    })
    .get("/api/admin/users/:id/credits", ({ params }) => credits.balance(params.id), {
      admin: true,
      params: userParams,
      response: "CreditBalance",
      detail: { summary: "A user's credit balance (admin)" },
    })
    .post(
      "/api/admin/users/:id/credits",
      ({ params, body, principal }) => credits.grant({ userId: params.id, amount: body.amount, reason: body.reason, createdBy: principal.user.id }),
      {
        admin: true,
        params: userParams,
        body: "CreditGrant",
        response: "CreditBalance",
        detail: { summary: "Add credits, or correct with a negative amount (409 if the balance would go below zero); answers the new balance" },
      },
    )
    .get(
      "/api/admin/users/:id/credits/ledger",
      async ({ params, query }) => {
        const page = { limit: query.limit ?? 50, offset: query.offset ?? 0 };
        return { user_id: params.id, ...(await credits.ledger(params.id, page)), ...page };
      },
      { admin: true, params: userParams, query: ledgerQuery, response: "CreditLedgerPage", detail: { summary: "A user's credit ledger, newest first" } },
    );
}
