import type { AppContext, Worker } from "../context";
import { forgetChatflow } from "./access";
import { StreamSlots } from "./stream-slots";

export function streamSlotsOf(ctx: AppContext): StreamSlots {
  return ctx.services.streamSlots as StreamSlots;
}

export async function setupChat(ctx: AppContext): Promise<Worker[] | void> {
  ctx.services.streamSlots = new StreamSlots(ctx.config.maxStreamsPerUser);
  ctx.bus.onEvent((e) => {
    if (e.kind === "chatflow") forgetChatflow(ctx.db, e.subject);
  });
}
