import type { AppContext, Worker } from "../context";
import { forgetChatflow } from "./access";

export async function setupChat(ctx: AppContext): Promise<Worker[] | void> {
  ctx.bus.onEvent((e) => {
    if (e.kind === "chatflow") forgetChatflow(ctx.db, e.subject);
  });
}
