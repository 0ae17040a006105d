import type { AppContext, Worker } from "../context";
import { setupStreamChat } from "../stream-chat/setup";
import { ApiKeyVerifier } from "./verifier";

export async function setupKeys(ctx: AppContext): Promise<Worker[] | void> {
  const verifier = new ApiKeyVerifier(ctx.db, ctx.config, ctx.bus);
  ctx.authn.keyVerifier = verifier;
  ctx.services.keyVerifier = verifier;
  return [verifier.startLastUsedWriter(ctx.log), ...setupStreamChat(ctx)];
}
