// The one Idempotency-Key sequence of chatgate (predict and messaging send): claim the key, replay
// a finished answer, refuse a different body or a claim still running, and free the key when the
// request fails, so the corrected retry runs for real.
import type { DB } from "../db/client";
import { beginIdempotent, completeIdempotent, releaseIdempotent, requestHash, type IdempotencyScope } from "./service";

/** An Idempotency-Key header chatgate accepts: 1 to 255 visible ASCII characters. */
export const isIdempotencyKey = (key: string) => /^[\x21-\x7e]{1,255}$/.test(key);

/** The claim a request holds while it runs; a no-op when the request carried no key. */
export interface IdempotencyClaim {
  /** Stores the answer retries replay; `db`: a transaction, to commit it with the request's own writes. */
  complete(response: unknown, statusCode?: number, db?: DB): Promise<void>;
  /** Frees the key (the request charged and wrote nothing), so a retry runs for real. */
  release(): Promise<void>;
}

export interface IdempotentRequest<R> {
  db: DB;
  /** The endpoint family the key belongs to ("chat.predict", "messages"). */
  scope: string;
  userId: string;
  /** The header's value, already checked with `isIdempotencyKey`; undefined: no key, no claim. */
  key: string | undefined;
  /** What makes two requests the same request (hashed). */
  request: unknown;
  /** The caller's answer to a finished request's stored response. */
  replay(response: unknown, statusCode: number): R | Promise<R>;
  /** The caller's errors (each route family words them itself). */
  conflict(): Error;
  inProgress(): Error;
}

const NO_CLAIM: IdempotencyClaim = { complete: async () => {}, release: async () => {} };

/**
 * Runs `run` at most once per (scope, user, key). `run` completes or releases its claim itself —
 * at once, inside its transaction, or later (a stream, when it knows whether it charged); if `run`
 * throws, the claim is released here and the error rethrown.
 */
export async function withIdempotency<R>(req: IdempotentRequest<R>, run: (claim: IdempotencyClaim) => Promise<R>): Promise<R> {
  if (req.key === undefined) return run(NO_CLAIM);
  const scope: IdempotencyScope = { scope: req.scope, userId: req.userId, key: req.key };
  const begun = await beginIdempotent(req.db, scope, requestHash(req.request));
  if (begun.state === "replay") return req.replay(begun.response, begun.statusCode);
  if (begun.state === "conflict") throw req.conflict();
  if (begun.state === "in_progress") throw req.inProgress();
  // A completion outside a transaction follows work that stands (a charged answer): should it
  // fail, the key stays claimed rather than freed for a retry that would charge again. One inside
  // the caller's transaction rolls back with it, leaving the key free to release.
  let kept = false;
  const claim: IdempotencyClaim = {
    complete: (response, statusCode = 200, db) => {
      if (!db) kept = true;
      return completeIdempotent(db ?? req.db, scope, statusCode, response);
    },
    release: () => releaseIdempotent(req.db, scope),
  };
  try {
    return await run(claim);
  } catch (err) {
    if (!kept) await claim.release();
    throw err;
  }
}
