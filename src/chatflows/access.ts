import { and, eq } from "drizzle-orm";
import type { DB } from "../db/client";
import { chatflowAccess, chatflows, type Chatflow } from "./schema";
import type { UserState } from "../kernel/principal";
import type { ErrorEntry } from "../http/errors";
import { CHATFLOW_ERRORS } from "./errors";

export type ChatflowAccess = { ok: true; chatflow: Chatflow } | { ok: false; error: ErrorEntry };

// Every prediction and chat-token issuance asks this; on the embedded database a query costs
// ~0.5 ms on the event loop. Answers are cached per instance, dropped for a chatflow whenever an
// admin changes it or its grants (a `chatflow` bus event, so other instances drop theirs within
// the NOTIFY latency), and re-read after a safety TTL.
const TTL_MS = 60_000;
const MAX_ENTRIES = 50_000;

/**
 * Answers "may this user ask this chatflow", cached per instance. Built once by the chatflows
 * feature, which drops a chatflow's answers on its bus events.
 */
export class ChatflowAccessPolicy {
  private readonly byFlow = new Map<string, Map<string, { result: ChatflowAccess; at: number }>>();
  private size = 0;
  private generation = 0;

  constructor(private readonly db: DB) {}

  /** Forgets cached answers for one chatflow, or for all of them with `*`. */
  forget(chatflowId: string): void {
    this.generation++;
    if (chatflowId === "*") {
      this.byFlow.clear();
      this.size = 0;
    } else {
      this.size -= this.byFlow.get(chatflowId)?.size ?? 0;
      this.byFlow.delete(chatflowId);
    }
  }

  /** A chatflow (= brain) is usable when it exists, is enabled, and the user is an admin or was granted it. */
  async forUser(user: Pick<UserState, "id" | "role">, chatflowId: string): Promise<ChatflowAccess> {
    const userKey = `${user.id} ${user.role}`;
    const hit = this.byFlow.get(chatflowId)?.get(userKey);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.result;
    const generation = this.generation;
    const result = await loadAccess(this.db, user, chatflowId);
    // A change that landed while this read was in flight wins: don't store what may be stale.
    if (generation === this.generation) {
      if (this.size >= MAX_ENTRIES) this.forget("*");
      let forFlow = this.byFlow.get(chatflowId);
      if (!forFlow) this.byFlow.set(chatflowId, (forFlow = new Map()));
      if (!forFlow.has(userKey)) this.size++;
      forFlow.set(userKey, { result, at: Date.now() });
    }
    return result;
  }
}

async function loadAccess(db: DB, user: Pick<UserState, "id" | "role">, chatflowId: string): Promise<ChatflowAccess> {
  const [row] = await db
    .select({ chatflow: chatflows, grantee: chatflowAccess.userId })
    .from(chatflows)
    .leftJoin(chatflowAccess, and(eq(chatflowAccess.chatflowId, chatflows.id), eq(chatflowAccess.userId, user.id)))
    .where(eq(chatflows.id, chatflowId));
  if (!row) return { ok: false, error: CHATFLOW_ERRORS.CHATFLOW_NOT_FOUND };
  if (!row.chatflow.enabled) return { ok: false, error: CHATFLOW_ERRORS.CHATFLOW_DISABLED };
  if (user.role !== "admin" && row.grantee === null) {
    return { ok: false, error: CHATFLOW_ERRORS.NO_ACCESS };
  }
  return { ok: true, chatflow: row.chatflow };
}
