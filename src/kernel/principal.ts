// What the kernel knows of a caller, and the interfaces through which features plug their own
// credential checks into it. Nothing here imports a feature.
import { NO_USAGE, type UsageRecorder } from "./usage";

/**
 * A cached answer is returned as is, a miss as a promise: on the hot path a request's checks
 * then take no promise and no turn of the event loop each (callers `await` both the same).
 */
export type MaybePromise<T> = T | Promise<T>;

/**
 * `f` of a value now, or of a promised one when it settles. Any thenable counts as a promise (a
 * query builder typed as one is not an instance of Promise), never as the value itself.
 */
export function then<T, R>(v: MaybePromise<T>, f: (t: T) => MaybePromise<R>): MaybePromise<R> {
  return isThenable(v) ? Promise.resolve(v).then(f) : f(v as T);
}

export const isThenable = (v: unknown): v is PromiseLike<unknown> => typeof (v as { then?: unknown } | null | undefined)?.then === "function";

export type Credential = "access" | "apiKey" | "apiToken" | "chat";
export type KeyLevel = "read" | "write" | "admin";
export const LEVEL_RANK: Record<KeyLevel, number> = { read: 1, write: 2, admin: 3 };

/** The kernel's view of a user row, as the identity feature's user source provides it. */
export interface UserState {
  id: string;
  email: string;
  name: string;
  username: string | null;
  role: "user" | "admin";
  customerId: number;
  disabled: boolean;
  /** Tokens of every kind signed before this instant (ms, see issuedAtMs) are refused. */
  tokensValidAfterMs: number;
  createdAt: Date;
}

export interface Principal {
  kind: Credential;
  user: UserState;
  /** jti of a JWT, or the API key's id. */
  tokenId: string;
  sessionId?: string;
  issuedAt?: number;
  level?: KeyLevel;
  keyName?: string;
  brainId?: string;
  /** An API key's scopes beyond its level (e.g. "introspect"). */
  scopes?: string[];
  /** The API key behind the credential: the key itself, or the key that minted a chat token (usage). */
  keyId?: string;
}

/** Implemented by the identity feature (a cache over its users table). */
export interface UserSource {
  get(id: string): MaybePromise<UserState | null>;
}

/** Why a credential was refused: the label of chatgate_credential_rejections_total and the log line. */
export type RejectReason = "malformed" | "unknown" | "expired" | "revoked" | "rolled" | "domain" | "level";

export type KeyCheck =
  | { valid: true; keyId: string; userId: string; level: KeyLevel; name: string; scopes: string[] }
  | { valid: false; code: "INVALID"; reason: Exclude<RejectReason, "domain" | "level"> }
  | { valid: false; code: "FORBIDDEN_DOMAIN"; reason: "domain" };

/** Implemented by the keys feature. */
export interface KeyVerifier {
  verify(rawKey: string, request: Request): MaybePromise<KeyCheck>;
}

/** Implemented by the admin-tokens feature: an admin-issued token must still have its row. */
export interface ApiTokenRegistry {
  isActive(jti: string, userId: string): Promise<boolean>;
  /** Called once the token was accepted (last-used bookkeeping). */
  noteUsed(jti: string): void;
}

/** Where a request comes from, as the core's server reports it (Bun's `server.requestIP`). */
export interface RequestIpSource {
  requestIP(request: Request): { address: string } | null;
}

/** One request as the gate sees it: after its guard resolved, before its body is read. */
export interface GateRequest {
  request: Request;
  /** The matched route pattern (`/api/auth/api-keys/:id`), never the raw path. */
  route: string;
  /** Undefined on routes that take no credential. */
  principal?: Principal;
  server?: RequestIpSource | null;
  /** The response's headers: an admitted request's fields (RateLimit) are written here. */
  headers: Record<string, string>;
}

/**
 * Implemented by the rate-limits feature: admits a request, adding the fields its response
 * carries to `req.headers` (in place: no object per request), or throws the route family's 429
 * (an AppError). Synchronous in steady state. The kernel only calls it.
 */
export interface RequestGate {
  admit(req: GateRequest): void | Promise<void>;
}

/** The checks features plug in; until they do, every such credential is refused. */
export interface CredentialChecks {
  users: UserSource;
  keys: KeyVerifier;
  apiTokens: ApiTokenRegistry;
  /** Admission after authentication (rate limits); open until a feature plugs one in. */
  gate: RequestGate;
  /** Where the guard and the core count requests, rate limits and errors (the usage feature). */
  usage: UsageRecorder;
}

export const REFUSE_ALL: CredentialChecks = {
  users: { get: async () => null },
  keys: { verify: async () => ({ valid: false, code: "INVALID", reason: "unknown" }) },
  apiTokens: { isActive: async () => false, noteUsed: () => {} },
  gate: { admit: () => undefined },
  usage: NO_USAGE,
};
