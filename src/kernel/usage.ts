// Usage over time (issue 19): what features count per hour, user, API key and chatflow. The
// usage feature implements the recorder (an in-memory aggregate written in batches); the kernel
// and the features only call it, so nothing here imports a feature.

/** The counters a usage row holds (columns of usage_rollups, fields of the usage API). */
export const USAGE_COUNTERS = [
  "requests",
  "predictions",
  "failedPredictions",
  "creditsSpent",
  "tokensAccess",
  "tokensRefresh",
  "tokensChat",
  "tokensStream",
  "tokensApi",
  "rateLimited",
  "logins",
  "failedLogins",
  "errors",
  "serverErrors",
] as const;

export type UsageCounter = (typeof USAGE_COUNTERS)[number];

/**
 * Where features count usage. `add` runs on the request's hot path: synchronous, no I/O, no
 * promise; the implementation adds to an in-memory row and writes rows in batches. `userId` is
 * "" for an anonymous caller; `keyId` and `chatflowId` are "" (or absent) when none applies.
 */
export interface UsageRecorder {
  add(counter: UsageCounter, userId: string, keyId?: string, chatflowId?: string, n?: number): void;
}

export const NO_USAGE: UsageRecorder = { add() {} };
