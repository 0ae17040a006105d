import { Elysia } from "elysia";
import { errorFamily } from "../http/errors";
import type { Core } from "../kernel/core";
import type { BalanceWatch } from "../kernel/events";
import { balance, creditModels, grantInput, ledgerPage, ledgerQuery, userParams } from "./model";
import type { Credits } from "./service";
import type { Recorder } from "../audit/service";
import { trailOf } from "../identity/trail";

// Two groups: the caller's balance answers in the `detail` body, the admin routes in the admin one.
export function creditsRoutes(ctx: Core, credits: Credits, balances: BalanceWatch, record: Recorder) {
  const audited = { config: ctx.config, record };
  const own = new Elysia({ tags: ["credits"] })
    .onTransform(errorFamily("detail"))
    .use(ctx.auth)
    .model(creditModels)
    .get("/api/v1/chat/credits", ({ principal }) => credits.balance(principal.user.id), {
      access: true,
      response: balance,
      detail: { summary: "The caller's credit balance" },
    });
  const admin = new Elysia({ tags: ["credits"] })
    .onTransform(errorFamily("admin"))
    .use(ctx.auth)
    .model(creditModels)
    .get("/api/admin/users/:id/credits", ({ params }) => credits.balance(params.id), {
      admin: true,
      params: userParams,
      response: balance,
      detail: { summary: "A user's credit balance (admin)" },
    })
    .post(
      "/api/admin/users/:id/credits",
      (c) => credits.grant({ userId: c.params.id, amount: c.body.amount, reason: c.body.reason, createdBy: c.principal.user.id }, balances, trailOf(audited, c)),
      {
        admin: true,
        params: userParams,
        body: grantInput,
        response: balance,
        detail: { summary: "Add credits, or correct with a negative amount (409 if the balance would go below zero); answers the new balance" },
      },
    )
    .get(
      "/api/admin/users/:id/credits/ledger",
      async ({ params, query }) => {
        const page = { limit: query.limit ?? 50, offset: query.offset ?? 0 };
        return { user_id: params.id, ...(await credits.ledger(params.id, page)), ...page };
      },
      { admin: true, params: userParams, query: ledgerQuery, response: ledgerPage, detail: { summary: "A user's credit ledger, newest first" } },
    );
  return new Elysia().use(own).use(admin);
}
