import { CHAT_ERRORS } from "./errors";

export interface StreamSlot {
  /** Frees the slot; later calls do nothing. */
  release(): void;
}

// A stream's length is up to Flowise and the client, so there is no true time to wait; a few
// seconds is long enough for a finished or abandoned stream to have let go of its slot.
const RETRY_AFTER_SEC = "5";

/**
 * Counts each user's open SSE streams (predict and the brain question stream) in this instance.
 * A slot is taken before credits are reserved or Flowise is called, and released exactly once
 * when the stream ends, however it ends (see streamPrediction's `finally`).
 */
export class StreamSlots {
  private readonly open = new Map<string, number>();

  constructor(readonly max: number) {}

  /** A slot for one more stream of this user, or a 429 with Retry-After. */
  take(userId: string): StreamSlot {
    const n = this.open.get(userId) ?? 0;
    if (n >= this.max) {
      throw CHAT_ERRORS.TOO_MANY_STREAMS.withHeaders({ "Retry-After": RETRY_AFTER_SEC }, this.max);
    }
    this.open.set(userId, n + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const left = (this.open.get(userId) ?? 1) - 1;
        if (left > 0) this.open.set(userId, left);
        else this.open.delete(userId);
      },
    };
  }

  inUse(userId: string): number {
    return this.open.get(userId) ?? 0;
  }
}
