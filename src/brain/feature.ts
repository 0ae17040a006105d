import type { ChatDeps } from "../chat/pipeline";
import { defineFeature } from "../kernel/feature";
import { brainRoutes } from "./routes";
import { BRAIN_ERRORS } from "./errors";

/** The brain contract's chats and streamed questions, on the chat feature's pipeline. */
export const brainFeature = defineFeature({
  name: "brain",
  errors: BRAIN_ERRORS,
  routes: (core, _services, deps: { chat: { pipeline: ChatDeps } }) => brainRoutes(core, deps.chat.pipeline),
});
