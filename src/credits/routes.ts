import { Elysia } from "elysia";
import type { Core } from "../kernel/core";
import { creditModels, ledgerQuery, userParams } from "./model";
import { getBalance, grantCredits, listLedger } from "./service";
import type { Recorder } from "../audit/service";
import { trailOf } from "../identity/trail";

export function creditsRoutes(ctx: Core, record: Recorder) {
  const { db } = ctx;
  const audited = { config: ctx.config, record };
  return new Elysia({ tags: ["credits"] })
    .use(ctx.auth)
    .model(creditModels)
    .get("/api/v1/chat/credits", ({ principal }) => getBalance(db, principal.user.id), {
      access: true,
      response: "CreditBalance",
      detail: { summary: "The caller's credit balance" },
    })
    .get("/api/admin/users/:id/credits", ({ params }) => getBalance(db, params.id), {
      admin: true,
      params: userParams,
      response: "CreditBalance",
      detail: { summary: "A user's credit balance (admin)" },
    })
    .post(
      "/api/admin/users/:id/credits",
      (c) => grantCredits(db, { userId: c.params.id, amount: c.body.amount, reason: c.body.reason, createdBy: c.principal.user.id }, trailOf(audited, c)),
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
        return { user_id: params.id, ...(await listLedger(db, params.id, page)), ...page };
      },
      { admin: true, params: userParams, query: ledgerQuery, response: "CreditLedgerPage", detail: { summary: "A user's credit ledger, newest first" } },
    );
}
