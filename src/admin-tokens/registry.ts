import { and, eq, isNull } from "drizzle-orm";
import type { DB } from "../db/client";
import { LastUsedWriter } from "../db/last-used";
import { apiTokens } from "./schema";
import type { ApiTokenRegistry } from "../kernel/principal";
import type { RevocationBus } from "../kernel/revocations";

const ACTIVE_TTL_MS = 5 * 60_000;

/**
 * The authenticator's check for admin-issued tokens: the row must still exist unrevoked. Checked
 * once per instance then cached; a revocation on any instance drops the entry (the bus).
 */
export class ApiTokenRows implements ApiTokenRegistry {
  /** last_used_at, written in batches by a worker. */
  readonly lastUsed: LastUsedWriter;
  private readonly active = new Map<string, { userId: string; at: number }>();

  constructor(
    private readonly db: DB,
    bus: RevocationBus,
  ) {
    this.lastUsed = new LastUsedWriter(db, apiTokens);
    bus.onEvent((e) => {
      if (e.kind === "api_token") {
        this.active.delete(e.subject);
        this.lastUsed.forget(e.subject);
      }
    });
  }

  noteUsed(jti: string): void {
    this.lastUsed.note(jti);
  }

  async isActive(jti: string, userId: string): Promise<boolean> {
    const hit = this.active.get(jti);
    if (hit && Date.now() - hit.at < ACTIVE_TTL_MS) return hit.userId === userId;
    const [row] = await this.db
      .select({ userId: apiTokens.userId })
      .from(apiTokens)
      .where(and(eq(apiTokens.id, jti), isNull(apiTokens.revokedAt)));
    if (!row) return false;
    this.active.set(jti, { userId: row.userId, at: Date.now() });
    return row.userId === userId;
  }
}
