import { t } from "elysia";
import { pageFields } from "../http/paging";

export const balance = t.Object({
  user_id: t.String(),
  credits_remaining: t.Integer(),
  // When the balance last changed (the user's creation when it never did).
  last_updated: t.String({ format: "date-time" }),
});
export type Balance = typeof balance.static;

export const grantInput = t.Object({
  amount: t.Integer({
    minimum: -1_000_000_000,
    maximum: 1_000_000_000,
    error: "amount: must be a non-zero whole number (negative corrects a balance, never below zero)",
  }),
  reason: t.String({ minLength: 1, maxLength: 500, error: "reason: must be 1 to 500 characters" }),
});

export const ledgerEntry = t.Object({
  id: t.Integer(),
  delta: t.Integer(),
  kind: t.Union([t.Literal("grant"), t.Literal("charge"), t.Literal("refund")]),
  reason: t.String(),
  reservation_id: t.Union([t.String(), t.Null()]),
  created_by: t.Union([t.String(), t.Null()]),
  created_at: t.String({ format: "date-time" }),
});
export type LedgerEntry = typeof ledgerEntry.static;

export const ledgerPage = t.Object({
  user_id: t.String(),
  entries: t.Array(ledgerEntry),
  count: t.Integer({ description: "All ledger rows of the user" }),
  limit: t.Integer(),
  offset: t.Integer(),
});
export type LedgerPage = typeof ledgerPage.static;

export const userParams = t.Object({ id: t.String({ minLength: 1, maxLength: 200 }) });

export const ledgerQuery = t.Object({
  ...pageFields(200, 50),
});

export const creditModels = { CreditBalance: balance, CreditGrant: grantInput, CreditLedgerPage: ledgerPage };
