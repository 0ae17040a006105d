import type { ChatflowAccessPolicy } from "../chatflows/access";
import type { Principal } from "../kernel/principal";
import { BRAIN_ERRORS } from "../brain/errors";
import { newId } from "../ids";
import type { TokenSigner } from "../kernel/jwt";
import { NO_USAGE, type UsageRecorder } from "../kernel/usage";

/** Thirty minutes, as the brain contract fixes; a chat token cannot be refreshed. */
export const CHAT_TOKEN_TTL_SEC = 1800;

/**
 * A short-lived token of the `chat` kind for one brain. `kid` names the API key that minted it,
 * so revoking the key also kills its chat tokens (the authenticator checks the bus).
 */
export async function mintChatToken(policy: ChatflowAccessPolicy, signer: TokenSigner, principal: Principal, brainId: string, usage: UsageRecorder = NO_USAGE) {
  const access = await policy.forUser(principal.user, brainId);
  if (!access.ok) {
    // The brain contract's words for the same outcomes as the question stream's.
    throw access.error.status === "NOT_FOUND" ? BRAIN_ERRORS.BRAIN_NOT_FOUND() : BRAIN_ERRORS.NO_BRAIN_ACCESS();
  }
  const token = await signer.sign("chat", { sub: principal.user.id, email: principal.user.email, brain_id: brainId, jti: newId("ct"), kid: principal.tokenId }, CHAT_TOKEN_TTL_SEC);
  usage.add("tokensChat", principal.user.id, principal.tokenId, brainId);
  return { token, expires_in: CHAT_TOKEN_TTL_SEC };
}
