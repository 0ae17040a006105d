import { and, count, desc, eq, or, sql } from "drizzle-orm";
import type { DB } from "../db/client";
import type { Logger } from "../http/logger";
import type { Page } from "../http/paging";
import { newId } from "../ids";
import { EVENT_TYPES, type EventSink, type EventType } from "../kernel/events";
import { newSigningSecret, type SecretBox } from "./secret-box";
import { webhookDeliveries, webhooks, type Webhook, type WebhookDelivery } from "./schema";
import { checkTarget, type TargetPolicy } from "./target";
import { WEBHOOK_ERRORS } from "./errors";
import { audit, diff, type AuditTrail } from "../audit/service";

const SUBSCRIBABLE = EVENT_TYPES.filter((e) => e !== "webhook.test");
const PREFIXES = new Set(SUBSCRIBABLE.map((e) => e.split(".")[0]!));

/** Exact types, `<prefix>.*` or `*`; anything else is a typo the operator should hear about. */
export function eventsProblem(events: string[]): string | undefined {
  if (events.length === 0) return "events: give at least one event type";
  for (const e of events) {
    if (e === "*" || (SUBSCRIBABLE as readonly string[]).includes(e)) continue;
    if (e.endsWith(".*") && PREFIXES.has(e.slice(0, -2))) continue;
    return `events: unknown event type ${JSON.stringify(e)}`;
  }
  return undefined;
}

/** The patterns that select `type`, for a jsonb containment match. */
const patternsFor = (type: string) => [type, `${type.split(".")[0]}.*`, "*"];

export function webhookView(w: Webhook) {
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    description: w.description,
    enabled: w.enabled,
    created_at: w.createdAt.toISOString(),
    updated_at: w.updatedAt.toISOString(),
  };
}

export function deliveryView(d: WebhookDelivery) {
  return {
    id: d.id,
    event_id: d.eventId,
    event_type: d.eventType,
    status: d.status,
    attempts: d.attempts,
    last_error: d.lastError,
    response_code: d.responseCode,
    created_at: d.createdAt.toISOString(),
    next_attempt_at: d.status === "queued" ? d.nextAttemptAt.toISOString() : null,
    sent_at: d.sentAt?.toISOString() ?? null,
  };
}

/**
 * A webhook as its audit rows show it. A URL's path and query can be a credential (chat services'
 * incoming-webhook URLs are), so only its origin is shown, with a fingerprint of the whole URL
 * that tells a change without revealing it.
 */
function auditedFields(w: Webhook) {
  return { url: redactedUrl(w.url), events: w.events, description: w.description, enabled: w.enabled };
}

export function redactedUrl(raw: string): string {
  const u = new URL(raw);
  if ((u.pathname === "/" || u.pathname === "") && !u.search && !u.username && !u.password) return u.origin;
  const print = new Bun.CryptoHasher("sha256").update(raw).digest("hex").slice(0, 8);
  return `${u.origin}/… (${print})`;
}

export interface WebhookInput {
  url: string;
  events: string[];
  description?: string;
}

export interface WebhookPatch extends Partial<WebhookInput> {
  enabled?: boolean;
  /** A new signing secret, shown once in the answer. */
  rotate_secret?: boolean;
}

export interface WebhookServiceDeps {
  db: DB;
  box: SecretBox;
  policy: TargetPolicy;
  log: Logger;
  /** After deliveries were queued: look for them soon (the local worker). */
  wake(): void;
}

/**
 * Webhook endpoints and the event sink: `emit` queues one delivery per matching endpoint in
 * the caller's transaction; the leased queue delivers them after commit.
 */
export class WebhookService implements EventSink {
  constructor(private readonly d: WebhookServiceDeps) {}

  private checkInput(p: Partial<WebhookInput>): void {
    if (p.url !== undefined) {
      const c = checkTarget(p.url, this.d.policy);
      if (!c.ok) throw WEBHOOK_ERRORS.BAD_TARGET(c.reason);
    }
    if (p.events !== undefined) {
      const problem = eventsProblem(p.events);
      if (problem) throw WEBHOOK_ERRORS.BAD_EVENTS(problem);
    }
  }

  async create(input: WebhookInput, createdBy: string | null, trail?: AuditTrail) {
    this.checkInput(input);
    const id = newId("wh");
    const secret = newSigningSecret();
    const secretEnc = await this.d.box.seal(secret, id);
    const row = await this.d.db.transaction(async (tx) => {
      const [made] = await tx
        .insert(webhooks)
        .values({ id, url: input.url, events: [...new Set(input.events)], description: input.description ?? "", secretEnc, createdBy })
        .returning();
      await audit(tx, trail, { action: "webhook.created", target: { type: "webhook", id }, changes: diff({}, auditedFields(made!)) });
      return made;
    });
    this.d.log.info("webhook created", { webhook_id: id, by: createdBy });
    return { ...webhookView(row!), secret };
  }

  async list(page: Page) {
    const [rows, [all]] = await Promise.all([
      this.d.db.select().from(webhooks).orderBy(desc(webhooks.createdAt), desc(webhooks.id)).limit(page.limit).offset(page.offset),
      this.d.db.select({ n: count() }).from(webhooks),
    ]);
    return { webhooks: rows.map(webhookView), total: all?.n ?? 0 };
  }

  async get(id: string): Promise<Webhook> {
    const [row] = await this.d.db.select().from(webhooks).where(eq(webhooks.id, id));
    if (!row) throw WEBHOOK_ERRORS.NOT_FOUND();
    return row;
  }

  async update(id: string, patch: WebhookPatch, trail?: AuditTrail) {
    this.checkInput(patch);
    await this.get(id);
    const secret = patch.rotate_secret ? newSigningSecret() : undefined;
    const secretEnc = secret ? await this.d.box.seal(secret, id) : undefined;
    const row = await this.d.db.transaction(async (tx) => {
      // Read again under a lock: the audit row's "before" is what this update replaced.
      const [was] = await tx.select().from(webhooks).where(eq(webhooks.id, id)).for("update");
      if (!was) return undefined;
      const [now] = await tx
        .update(webhooks)
        .set({
          ...(patch.url !== undefined ? { url: patch.url } : {}),
          ...(patch.events !== undefined ? { events: [...new Set(patch.events)] } : {}),
          ...(patch.description !== undefined ? { description: patch.description } : {}),
          ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
          ...(secretEnc ? { secretEnc } : {}),
          updatedAt: sql`now()`,
        })
        .where(eq(webhooks.id, id))
        .returning();
      // Whether the signing secret changed, never the secret.
      const changes = { ...diff(auditedFields(was), auditedFields(now!)), ...(secret ? { rotated: [false, true] as [unknown, unknown] } : {}) };
      if (Object.keys(changes).length > 0) await audit(tx, trail, { action: "webhook.changed", target: { type: "webhook", id }, changes });
      return now;
    });
    if (!row) throw WEBHOOK_ERRORS.NOT_FOUND();
    return secret ? { ...webhookView(row), secret } : webhookView(row);
  }

  async remove(id: string, trail?: AuditTrail): Promise<void> {
    const gone = await this.d.db.transaction(async (tx) => {
      const rows = await tx.delete(webhooks).where(eq(webhooks.id, id)).returning();
      if (rows[0])
        await audit(tx, trail, { action: "webhook.deleted", target: { type: "webhook", id }, changes: { url: [redactedUrl(rows[0].url), null], events: [rows[0].events, null] } });
      return rows;
    });
    if (gone.length === 0) throw WEBHOOK_ERRORS.NOT_FOUND();
  }

  /** Queues a `webhook.test` event to this endpoint only (enabled or not is its own check). */
  async test(id: string) {
    const hook = await this.get(id);
    const [row] = await this.insert(this.d.db, [hook.id], "webhook.test", { webhook_id: hook.id });
    this.d.wake();
    return deliveryView(row!);
  }

  async deliveries(id: string, page: Page) {
    await this.get(id);
    const where = eq(webhookDeliveries.webhookId, id);
    const [rows, [all]] = await Promise.all([
      this.d.db.select().from(webhookDeliveries).where(where).orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id)).limit(page.limit).offset(page.offset),
      this.d.db.select({ n: count() }).from(webhookDeliveries).where(where),
    ]);
    return { deliveries: rows.map(deliveryView), total: all?.n ?? 0 };
  }

  async emit(tx: DB, type: EventType, data: Record<string, unknown>): Promise<void> {
    const match = or(...patternsFor(type).map((p) => sql`${webhooks.events} @> ${JSON.stringify([p])}::jsonb`));
    const hooks = await tx
      .select({ id: webhooks.id })
      .from(webhooks)
      .where(and(eq(webhooks.enabled, true), match));
    if (hooks.length === 0) return;
    await this.insert(
      tx,
      hooks.map((h) => h.id),
      type,
      data,
    );
    // The rows are visible once the caller commits, which is soon but not now: look a little later
    // too (the poll is the guarantee; these only shorten the wait).
    for (const ms of [20, 200]) setTimeout(() => this.d.wake(), ms).unref?.();
  }

  private insert(db: DB, hookIds: string[], type: EventType, data: Record<string, unknown>) {
    const eventId = newId("evt");
    const payload = JSON.stringify({ id: eventId, type, created_at: new Date().toISOString(), data });
    return db
      .insert(webhookDeliveries)
      .values(hookIds.map((webhookId) => ({ id: newId("whd"), webhookId, eventId, eventType: type, payload })))
      .returning();
  }
}
