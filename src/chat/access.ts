import { and, eq } from "drizzle-orm";
import type { DB } from "../db/client";
import { chatflowAccess, chatflows, type Chatflow } from "../db/schema";
import type { UserState } from "../identity/user-cache";

export type ChatflowAccess =
  | { ok: true; chatflow: Chatflow }
  | { ok: false; code: "NOT_FOUND" | "FORBIDDEN"; message: string };

// Every prediction and chat-token issuance asks this; on the embedded database a query costs
// ~0.5 ms on the event loop. Answers are cached per database, dropped for a chatflow whenever an
// admin changes it or its grants (a `chatflow` bus event, so other instances drop theirs within
// the NOTIFY latency), and re-read after a safety TTL.
const TTL_MS = 60_000;
const MAX_ENTRIES = 50_000;

interface AccessCache {
  byFlow: Map<string, Map<string, { result: ChatflowAccess; at: number }>>;
  size: number;
  generation: number;
}

const caches = new WeakMap<DB, AccessCache>();

function cacheOf(db: DB): AccessCache {
  let c = caches.get(db);
  if (!c) caches.set(db, (c = { byFlow: new Map(), size: 0, generation: 0 }));
  return c;
}

/** Forgets cached answers for one chatflow, or for all of them with `*`. */
export function forgetChatflow(db: DB, chatflowId: string): void {
  const c = cacheOf(db);
  c.generation++;
  if (chatflowId === "*") {
    c.byFlow.clear();
    c.size = 0;
  } else {
    c.size -= c.byFlow.get(chatflowId)?.size ?? 0;
    c.byFlow.delete(chatflowId);
  }
}

/** A chatflow (= brain) is usable when it exists, is enabled, and the user is an admin or was granted it. */
export async function chatflowForUser(db: DB, user: Pick<UserState, "id" | "role">, chatflowId: string): Promise<ChatflowAccess> {
  const c = cacheOf(db);
  const userKey = `${user.id} ${user.role}`;
  const hit = c.byFlow.get(chatflowId)?.get(userKey);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.result;
  const generation = c.generation;
  const result = await loadAccess(db, user, chatflowId);
  // A change that landed while this read was in flight wins: don't store what may be stale.
  if (generation === c.generation) {
    if (c.size >= MAX_ENTRIES) forgetChatflow(db, "*");
    let forFlow = c.byFlow.get(chatflowId);
    if (!forFlow) c.byFlow.set(chatflowId, (forFlow = new Map()));
    if (!forFlow.has(userKey)) c.size++;
    forFlow.set(userKey, { result, at: Date.now() });
  }
  return result;
}

async function loadAccess(db: DB, user: Pick<UserState, "id" | "role">, chatflowId: string): Promise<ChatflowAccess> {
  const [row] = await db
    .select({ chatflow: chatflows, grantee: chatflowAccess.userId })
    .from(chatflows)
    .leftJoin(chatflowAccess, and(eq(chatflowAccess.chatflowId, chatflows.id), eq(chatflowAccess.userId, user.id)))
    .where(eq(chatflows.id, chatflowId));
  if (!row) return { ok: false, code: "NOT_FOUND", message: "Chatflow not found" };
  if (!row.chatflow.enabled) return { ok: false, code: "FORBIDDEN", message: "Chatflow is disabled" };
  if (user.role !== "admin" && row.grantee === null) {
    return { ok: false, code: "FORBIDDEN", message: "You do not have access to this chatflow" };
  }
  return { ok: true, chatflow: row.chatflow };
}
