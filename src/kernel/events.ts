import type { DB } from "../db/client";

/** Every event a webhook can subscribe to (issue 18). `data` never holds a secret. */
export const EVENT_TYPES = [
  "api_key.created",
  "api_key.rolled",
  "api_key.revoked",
  "api_key.expiring",
  "api_key.expired",
  "api_token.issued",
  "api_token.revoked",
  "user.created",
  "user.disabled",
  "user.enabled",
  "credits.low",
  "ratelimit.exceeded",
  "login.throttled",
  "webhook.test",
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/**
 * Where features announce what happened. `emit` writes the deliveries inside `tx`, so an event
 * exists exactly when the change it reports committed; pass `db` where the change is not a
 * transaction. The webhooks feature implements it; app.ts hands it to the features that emit.
 */
export interface EventSink {
  emit(tx: DB, type: EventType, data: Record<string, unknown>): Promise<void>;
}

export const NO_EVENTS: EventSink = { emit: async () => {} };

/** Checks a user's balance against their low-credit threshold inside the caller's transaction. */
export interface BalanceWatch {
  observe(tx: DB, userId: string): Promise<void>;
}

/** What app.ts hands the features that announce events. */
export interface EventHooks {
  events: EventSink;
  balances: BalanceWatch;
}

export const NO_EVENT_HOOKS: EventHooks = { events: NO_EVENTS, balances: { observe: async () => {} } };
