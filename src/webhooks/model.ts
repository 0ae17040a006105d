import { t } from "elysia";
import { closed } from "../http/closed-objects";
import { pageFields } from "../http/paging";

export const WEBHOOKS_PAGE = 50;

const url = t.String({ minLength: 1, maxLength: 2000, error: "url: must be a URL of at most 2000 characters" });
const events = t.Array(t.String({ maxLength: 100 }), { minItems: 1, maxItems: 50, error: "events: must be a list of 1 to 50 event types" });
const description = t.String({ maxLength: 500, error: "description: at most 500 characters" });

export const createInput = closed(t.Object({ url, events, description: t.Optional(description) }));
export const patchInput = closed(
  t.Object({
    url: t.Optional(url),
    events: t.Optional(events),
    description: t.Optional(description),
    enabled: t.Optional(t.Boolean({ error: "enabled: must be true or false" })),
    rotate_secret: t.Optional(t.Boolean({ error: "rotate_secret: must be true or false" })),
  }),
);

export const webhook = t.Object({
  id: t.String(),
  url: t.String(),
  events: t.Array(t.String()),
  description: t.String(),
  enabled: t.Boolean(),
  created_at: t.String(),
  updated_at: t.String(),
});

/** Only in the answer that made it (create, or PATCH with rotate_secret). */
export const webhookWithSecret = t.Object({
  ...webhook.properties,
  secret: t.String({ description: "whsec_… signing secret: shown once, store it now" }),
});

export const delivery = t.Object({
  id: t.String(),
  event_id: t.String({ description: "the webhook-id header" }),
  event_type: t.String(),
  status: t.Union([t.Literal("queued"), t.Literal("sent"), t.Literal("failed")]),
  attempts: t.Integer(),
  last_error: t.Nullable(t.String()),
  response_code: t.Nullable(t.Integer()),
  created_at: t.String(),
  next_attempt_at: t.Nullable(t.String()),
  sent_at: t.Nullable(t.String()),
});

export const idParams = t.Object({ id: t.String({ maxLength: 100 }) });
export const pageQuery = t.Object(pageFields(500, WEBHOOKS_PAGE));
export const listResponse = t.Object({ webhooks: t.Array(webhook), total: t.Integer(), limit: t.Integer(), offset: t.Integer() });
export const deliveriesResponse = t.Object({ deliveries: t.Array(delivery), total: t.Integer(), limit: t.Integer(), offset: t.Integer() });
