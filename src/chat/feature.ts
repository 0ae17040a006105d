import type { ChatflowAccessPolicy } from "../chatflows/access";
import type { Credits } from "../credits/service";
import { defineFeature } from "../kernel/feature";
import type { UsageRecorder } from "../kernel/usage";
import type { ChatDeps } from "./pipeline";
import { chatRoutes } from "./routes";
import { StreamSlots } from "./stream-slots";
import { CHAT_ERRORS } from "./errors";

/** Predictions proxied to Flowise (JSON and SSE), chat sessions and their history. */
export const chatFeature = defineFeature({
  name: "chat",
  errors: CHAT_ERRORS,
  setup(core, deps: { chatflows: { access: ChatflowAccessPolicy }; credits: { credits: Credits }; usage: { recorder: UsageRecorder } }) {
    const pipeline: ChatDeps = {
      db: core.db,
      credits: deps.credits.credits,
      config: core.config,
      log: core.log,
      predictions: core.metrics.counter("chatgate_predictions_total", "Predictions by mode (json, sse) and result"),
      streamsOpen: core.metrics.gauge("chatgate_sse_streams_open", "Answers being streamed to clients (SSE) now"),
      shutdown: core.shutdown.signal,
      streams: new StreamSlots(core.config.maxStreamsPerUser),
      access: deps.chatflows.access,
      usage: deps.usage.recorder,
    };
    return { services: { pipeline } };
  },
  routes: (core, services) => chatRoutes(core, services.pipeline),
});
