// The composition root: every feature of chatgate, listed once, in the order they are built.
// Each feature's `setup` gets the kernel and exactly the services it names; `services` below is
// the typed record of what every setup returned (see docs/ARCHITECTURE.md).
import { Elysia } from "elysia";
import { adminTokensFeature } from "./admin-tokens/feature";
import { auditFeature } from "./audit/feature";
import { brainFeature } from "./brain/feature";
import { chatFeature } from "./chat/feature";
import { chatflowsFeature } from "./chatflows/feature";
import type { Config } from "./config";
import { consoleFeature } from "./console/feature";
import { creditsFeature } from "./credits/feature";
import type { Database } from "./db/client";
import { healthFeature } from "./health/feature";
import { corePlugin } from "./http/core";
import { errorSummary, type Logger } from "./http/logger";
import { RouteTable } from "./http/route-table";
import { identityFeature } from "./identity/feature";
import { type Core, createCore, type Worker } from "./kernel/core";
import type { EventHooks } from "./kernel/events";
import type { Started } from "./kernel/feature";
import { keysFeature } from "./keys/feature";
import { messagingFeature } from "./messaging/feature";
import { oauthFeature } from "./oauth/feature";
import { openApiFeature } from "./openapi/feature";
import { signingKeysFeature } from "./signing-keys/feature";
import { rateLimitsFeature } from "./rate-limits/feature";
import { streamChatFeature } from "./stream-chat/feature";
import { usageFeature } from "./usage/feature";
import { webhooksFeature } from "./webhooks/feature";

async function setupFeatures(core: Core, workers: Worker[]) {
  const start = async <S>(started: Started<S> | Promise<Started<S>>): Promise<S> => {
    const r = await started;
    workers.push(...(r.workers ?? []));
    return r.services;
  };
  const signingKeys = await start(signingKeysFeature.setup!(core, {}));
  // Before the features that count usage through its recorder.
  const usage = await start(usageFeature.setup!(core, {}));
  const audit = await start(auditFeature.setup!(core, {}));
  // Before the features that announce their changes through its event sink.
  const webhooks = await start(webhooksFeature.setup!(core, { audit }));
  const hooks: EventHooks = { events: webhooks.events, balances: webhooks.balances };
  const rateLimits = await start(rateLimitsFeature.setup!(core, hooks));
  const identity = await start(identityFeature.setup!(core, { ...hooks, rateLimits, audit, usage }));
  const adminTokens = await start(adminTokensFeature.setup!(core, { ...hooks, audit, usage }));
  const chatflows = await start(chatflowsFeature.setup!(core, { audit }));
  const keys = await start(keysFeature.setup!(core, { chatflows, rateLimits, ...hooks, audit, usage }));
  const streamChat = await start(streamChatFeature.setup!(core, { usage }));
  const credits = await start(creditsFeature.setup!(core, { ...hooks, audit }));
  const chat = await start(chatFeature.setup!(core, { chatflows, credits, usage }));
  const messaging = await start(messagingFeature.setup!(core, { audit }));
  return { signingKeys, usage, webhooks, rateLimits, audit, identity, adminTokens, chatflows, keys, streamChat, credits, chat, messaging };
}

export type Services = Awaited<ReturnType<typeof setupFeatures>>;

/** The kernel plus every feature's services and every background worker, built once per process. */
export type AppContext = Core & { services: Services };

export async function createContext(config: Config, database: Database, log?: Logger): Promise<AppContext> {
  const core = await createCore(config, database, log);
  try {
    const services = await setupFeatures(core, core.workers);
    return { ...core, services };
  } catch (err) {
    // A feature refused to start (e.g. a bad secret): stop what the others already started.
    await stopWorkers(core);
    throw err;
  }
}

async function stopWorkers(ctx: Core): Promise<void> {
  for (const w of [...ctx.workers].reverse()) {
    await w.stop().catch((err) => ctx.log.warn("worker stop failed", { worker: w.name, error: errorSummary(err) }));
  }
}

export const stopContext = (ctx: AppContext): Promise<void> => stopWorkers(ctx);

export function createApp(ctx: AppContext) {
  const s = ctx.services;
  const table = new RouteTable();
  const hooks: EventHooks = { events: s.webhooks.events, balances: s.webhooks.balances };
  const app = new Elysia({ name: "chatgate" })
    .use(corePlugin(ctx, table))
    .use(openApiFeature.routes!(ctx, undefined, {}))
    .use(healthFeature.routes!(ctx, undefined, {}))
    .use(identityFeature.routes!(ctx, s.identity, { ...hooks, rateLimits: s.rateLimits, audit: s.audit, usage: s.usage }))
    .use(rateLimitsFeature.routes!(ctx, s.rateLimits, hooks))
    .use(adminTokensFeature.routes!(ctx, s.adminTokens, { ...hooks, audit: s.audit, usage: s.usage }))
    .use(keysFeature.routes!(ctx, s.keys, { chatflows: s.chatflows, rateLimits: s.rateLimits, ...hooks, audit: s.audit, usage: s.usage }))
    .use(streamChatFeature.routes!(ctx, s.streamChat, { usage: s.usage }))
    .use(chatflowsFeature.routes!(ctx, s.chatflows, { audit: s.audit }))
    .use(creditsFeature.routes!(ctx, s.credits, { ...hooks, audit: s.audit }))
    .use(chatFeature.routes!(ctx, s.chat, { chatflows: s.chatflows, credits: s.credits, usage: s.usage }))
    .use(brainFeature.routes!(ctx, undefined, { chat: s.chat }))
    .use(messagingFeature.routes!(ctx, s.messaging, { audit: s.audit }))
    .use(signingKeysFeature.routes!(ctx, s.signingKeys, {}))
    .use(oauthFeature.routes!(ctx, undefined, { signingKeys: s.signingKeys }))
    .use(webhooksFeature.routes!(ctx, s.webhooks, { audit: s.audit }))
    .use(auditFeature.routes!(ctx, s.audit, {}))
    .use(usageFeature.routes!(ctx, s.usage, {}))
    .use(consoleFeature.routes!(ctx, undefined, {}));
  table.bind(app);
  return app;
}

export type App = ReturnType<typeof createApp>;
