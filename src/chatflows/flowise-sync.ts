import { audit, type AuditTrail } from "../audit/service";
import { inArray, sql } from "drizzle-orm";
import type { DB } from "../db/client";
import { chatflows } from "./schema";
import { CHATFLOW_ERRORS } from "./errors";
import { tracedFetch } from "../ops/tracing";
import { MAX_CHATFLOW_NAME, type SyncResult } from "./model";

export interface FlowiseTarget {
  url?: string;
  apiKey?: string;
  timeoutMs: number;
}

interface FlowiseChatflow {
  id: string;
  name: string;
}

/** Fetches Flowise's chatflow list; every way it can fail becomes a 502/503/504 without the key in the text. */
async function fetchChatflows(target: FlowiseTarget): Promise<FlowiseChatflow[]> {
  if (!target.url) throw CHATFLOW_ERRORS.FLOWISE_UNCONFIGURED();
  const headers: Record<string, string> = { accept: "application/json" };
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  let res: Response;
  try {
    res = await tracedFetch("GET flowise chatflows", `${target.url}/api/v1/chatflows`, { headers, signal: AbortSignal.timeout(target.timeoutMs), redirect: "manual" });
  } catch (err) {
    if ((err as Error)?.name === "TimeoutError") throw CHATFLOW_ERRORS.FLOWISE_TIMEOUT();
    throw CHATFLOW_ERRORS.FLOWISE_UNREACHABLE();
  }
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    throw CHATFLOW_ERRORS.FLOWISE_KEY_REFUSED(res.status);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw CHATFLOW_ERRORS.FLOWISE_FAILED(res.status);
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw CHATFLOW_ERRORS.FLOWISE_NOT_JSON();
  }
  if (!Array.isArray(body)) throw CHATFLOW_ERRORS.FLOWISE_BAD_LIST();
  const flows: FlowiseChatflow[] = [];
  for (const item of body) {
    const { id, name } = (item ?? {}) as Record<string, unknown>;
    if (typeof id !== "string" || id === "" || id.length > 200 || typeof name !== "string") {
      throw CHATFLOW_ERRORS.FLOWISE_BAD_LIST();
    }
    flows.push({ id, name: name.trim().slice(0, MAX_CHATFLOW_NAME) || id });
  }
  return flows;
}

/**
 * Imports Flowise's chatflows: new ones get the default cost and are enabled; known ones only get
 * the new name and `synced_at`, so an admin's cost and enabled flag survive a sync. Chatflows gone
 * from Flowise are kept (their grants and history stay); an admin deletes them explicitly.
 */
export async function syncChatflows(db: DB, target: FlowiseTarget, trail?: AuditTrail): Promise<SyncResult> {
  const flows = await fetchChatflows(target);
  const unique = [...new Map(flows.map((f) => [f.id, f])).values()];
  if (unique.length === 0) return { created: 0, updated: 0, total: 0 };
  return db.transaction(async (tx) => {
    // The names before the sync, for the audit rows of renames (locked: a concurrent sync waits).
    const known = await tx
      .select({ id: chatflows.id, name: chatflows.name })
      .from(chatflows)
      .where(
        inArray(
          chatflows.id,
          unique.map((f) => f.id),
        ),
      )
      .for("update");
    const before = new Map(known.map((r) => [r.id, r.name]));
    const rows = await tx
      .insert(chatflows)
      .values(unique.map((f) => ({ id: f.id, name: f.name, syncedAt: sql`now()` })))
      .onConflictDoUpdate({
        target: chatflows.id,
        set: { name: sql`excluded.name`, syncedAt: sql`now()`, updatedAt: sql`now()` },
      })
      // xmax is 0 for a row this statement inserted, non-zero for one it updated.
      .returning({ id: chatflows.id, name: chatflows.name, cost: chatflows.cost, enabled: chatflows.enabled, inserted: sql<boolean>`(xmax = 0)` });
    const fresh = rows.filter((r) => r.inserted === true || (r.inserted as unknown) === "t");
    // A chatflow the sync created or renamed is audited like one an admin registered or renamed
    // (the admin who ran the sync is the actor); a sync that changes nothing writes no row.
    for (const r of fresh) {
      await audit(tx, trail, {
        action: "chatflow.created",
        target: { type: "chatflow", id: r.id },
        changes: { name: [null, r.name], cost: [null, r.cost], enabled: [null, r.enabled] },
      });
    }
    for (const r of rows) {
      const was = before.get(r.id);
      if (was === undefined || was === r.name) continue;
      await audit(tx, trail, { action: "chatflow.changed", target: { type: "chatflow", id: r.id }, changes: { name: [was, r.name] } });
    }
    return { created: fresh.length, updated: rows.length - fresh.length, total: rows.length };
  });
}
