import { errorSummary } from "../http/logger";
import { LeasedQueue } from "../db/leased-queue";
import { defineFeature } from "../kernel/feature";
import type { Core } from "../kernel/core";
import type { DB } from "../db/client";
import { webhookQueueKind, type WebhookJob } from "./delivery";
import { observeBalance, scanKeyExpiry, scanLowCredits } from "./monitors";
import { webhooksRoutes } from "./routes";
import { WEBHOOK_ERRORS } from "./errors";
import { secretBox } from "./secret-box";
import { WebhookService } from "./service";
import type { TargetPolicy } from "./target";
import type { Recorder } from "../audit/service";

// Expiry notices are about days; low balances are also caught in the transaction that lowers
// them where there is one, so a minute is soon enough for the rest.
export const MONITOR_INTERVAL_MS = 60_000;

async function setup(core: Core, _deps: { audit: { recorder: Recorder } }) {
  const c = core.config;
  const box = secretBox(core.sealer);
  const policy: TargetPolicy = { allowHttp: c.webhookAllowHttp, allowPrivate: c.webhookAllowPrivate };
  // Same settings and guarantees as the messaging outbox: it is the same machinery.
  const queue = new LeasedQueue<WebhookJob>(
    { db: core.db, log: core.log, maxAttempts: c.messageMaxAttempts, retryBaseMs: c.messageRetryBaseMs, pollMs: c.messagePollMs, sendTimeoutMs: c.messageSendTimeoutMs },
    webhookQueueKind({ db: core.db, box, policy, metrics: core.metrics }),
  );
  // The delivery loop starts after one poll interval, or at this instance's first event, so
  // start-up opens no extra database connection while the first admin is made (a small
  // session-mode pooler serves only a few; test/faults/pooler-starved.test.ts).
  let started = false;
  const startQueue = () => {
    if (started) return;
    started = true;
    clearTimeout(startTimer);
    queue.start();
  };
  const startTimer = setTimeout(startQueue, core.config.messagePollMs);
  startTimer.unref?.();
  const events = new WebhookService({
    db: core.db,
    box,
    policy,
    log: core.log,
    wake: () => {
      startQueue();
      queue.wake();
    },
  });
  const monitors = {
    scan: async () => ({ keys: await scanKeyExpiry(core.db, events), lowCredits: await scanLowCredits(core.db, events) }),
  };
  const timer = setInterval(() => {
    monitors.scan().catch((err) => core.log.warn("webhook monitors failed", { error: errorSummary(err) }));
  }, MONITOR_INTERVAL_MS);
  timer.unref?.();
  return {
    services: { events, balances: { observe: (tx: DB, userId: string) => observeBalance(tx, events, userId) }, queue, monitors },
    workers: [
      queue,
      {
        name: "webhook-monitors",
        stop: async () => {
          clearTimeout(startTimer);
          clearInterval(timer);
        },
      },
    ],
  };
}

/** Signed event webhooks (Standard Webhooks), delivered through the leased outbox queue. */
export const webhooksFeature = defineFeature({
  name: "webhooks",
  errors: WEBHOOK_ERRORS,
  setup,
  routes: (core, services, deps: { audit: { recorder: Recorder } }) => webhooksRoutes(core, services.events, deps.audit.recorder),
});
