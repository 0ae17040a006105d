import type { ChatDeps } from "../chat/pipeline";
import { defineFeature } from "../kernel/feature";
import { brainRoutes } from "./routes";

/** The brain contract's chats and streamed questions, on the chat feature's pipeline. */
export const brainFeature = defineFeature({
  name: "brain",
  routes: (core, _services, deps: { chat: { pipeline: ChatDeps } }) => brainRoutes(core, deps.chat.pipeline),
});
