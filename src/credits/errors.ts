import { defineErrors } from "../http/errors";

/** The credits feature's outcomes (predictions' own 402 is the chat feature's). */
export const CREDIT_ERRORS = defineErrors({
  USER_NOT_FOUND: { status: "NOT_FOUND", message: "User not found" },
  BAD_AMOUNT: { status: "VALIDATION", message: "amount: must be a non-zero whole number" },
  BELOW_ZERO: { status: "CONFLICT", message: "Insufficient credits: the balance cannot go below zero" },
});
