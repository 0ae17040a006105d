import { eq } from "drizzle-orm";
import type { DB } from "../db/client";
import { users, type User } from "./schema";
import type { MaybePromise, UserSource, UserState } from "../kernel/principal";
import type { RevocationBus } from "../kernel/revocations";

export function toUserState(u: User): UserState {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    username: u.username,
    role: u.role,
    customerId: u.customerId,
    disabled: u.disabledAt !== null,
    tokensValidAfterMs: u.tokensValidAfter.getTime(),
    createdAt: u.createdAt,
  };
}

/**
 * User state for the token hot path. Filled on first use, dropped on a `user` revocation event
 * (disable, role or password change) from any instance, and re-read after a safety TTL.
 */
export class UserCache implements UserSource {
  private readonly entries = new Map<string, { state: UserState | null; at: number }>();
  // Bumped by every invalidation: a read that started before one may hold the old row and must
  // not be cached over it (else a disabled user stays accepted here until the TTL).
  private generation = 0;

  constructor(
    private readonly db: DB,
    bus: RevocationBus,
    private readonly ttlMs = 5 * 60_000,
  ) {
    bus.onEvent((e) => {
      if (e.kind === "user") this.invalidate(e.subject);
    });
  }

  get(id: string): MaybePromise<UserState | null> {
    const hit = this.entries.get(id);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.state;
    return this.load(id);
  }

  private async load(id: string): Promise<UserState | null> {
    const generation = this.generation;
    const [row] = await this.db.select().from(users).where(eq(users.id, id));
    const state = row ? toUserState(row) : null;
    if (generation !== this.generation) return state;
    if (this.entries.size > 100_000) this.entries.clear();
    this.entries.set(id, { state, at: Date.now() });
    return state;
  }

  invalidate(id: string): void {
    this.generation++;
    this.entries.delete(id);
  }
}
