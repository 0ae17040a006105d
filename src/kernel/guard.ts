import { Elysia } from "elysia";
import type { AuthResult, Authenticator } from "./authenticator";
import { LEVEL_RANK, isThenable, then, type Credential, type KeyLevel, type MaybePromise, type Principal } from "./principal";
import { HTTP_ERRORS } from "../http/errors";

// Tags on a route's hook functions, read by the core's route table (src/http/route-table.ts):
// the guard runs before the body is read, forms are accepted, invalid input answers 400.
export const GUARD = Symbol("chatgate.guard");
/** Marks a route that also takes `application/x-www-form-urlencoded` bodies. */
export const FORM = Symbol("chatgate.form");
/** Marks a route whose contract documents 400 (not 422) for invalid parameters. */
export const INVALID_400 = Symbol("chatgate.invalid400");

export interface AuthOptions {
  accept: Credential[];
  /** Minimum level when the credential is an API key. */
  level?: KeyLevel;
  role?: "admin";
}

/**
 * 401 when the caller is not authenticated, 403 when the caller is known but not allowed.
 * Messages are the ones the contracts document; a key on a route that takes none is answered
 * as that route's own credential would be, since the key's validity is beside the point there.
 * Synchronous (returns or throws) when the credential's checks are cached.
 */
export function guard(authn: Authenticator, request: Request, opts: AuthOptions): MaybePromise<Principal> {
  return then(authn.authenticate(request, opts.accept), (r) => admit(authn, request, opts, r));
}

function admit(authn: Authenticator, request: Request, opts: AuthOptions, r: AuthResult): Principal {
  if (!r.ok) {
    if (r.status === 403) throw HTTP_ERRORS.FORBIDDEN();
    const takesKeys = opts.accept.includes("apiKey");
    const keyish = takesKeys && (r.presented === "apiKey" || (r.presented === "none" && opts.accept.every((c) => c === "apiKey")));
    throw keyish ? HTTP_ERRORS.INVALID_API_KEY() : HTTP_ERRORS.INVALID_JWT();
  }
  const p = r.principal;
  // An authenticated request (allowed or not below), counted for its user and key: a Map increment.
  authn.usage.add("requests", p.user.id, p.keyId);
  if (opts.role === "admin" && p.user.role !== "admin") return refuse(request, p);
  if (p.kind === "apiKey" && opts.level && LEVEL_RANK[p.level!] < LEVEL_RANK[opts.level]) {
    authn.noteRejection(request, "apiKey", "level");
    return refuse(request, p);
  }
  return p;
}

/** The guard's outcome per request: its principal, or the promise of one (pending, or refused). */
const checked = new WeakMap<Request, MaybePromise<Principal>>();
/** Callers known but refused (403): their error response still counts in their usage. */
const refused = new WeakMap<Request, Principal>();

function refuse(request: Request, p: Principal): never {
  refused.set(request, p);
  throw HTTP_ERRORS.FORBIDDEN();
}

/** The request's caller if its credential was verified (let in or refused 403), else undefined. */
export async function principalOf(request: Request): Promise<Principal | undefined> {
  const p = checked.get(request);
  return isThenable(p) ? Promise.resolve(p).catch(() => refused.get(request)) : p;
}

/**
 * The guard, run once per request: the core runs it before the body is parsed or validated
 * (credentials before bodies), and the macro's `resolve` then gets the same outcome. A refusal
 * is kept as a rejected promise, so every later call throws the same error.
 */
export function guardOnce(authn: Authenticator, request: Request, opts: AuthOptions): MaybePromise<Principal> {
  let p = checked.get(request);
  if (p === undefined) {
    try {
      p = guard(authn, request, opts);
    } catch (err) {
      p = Promise.reject(err);
    }
    // The core awaits it first; this only keeps an early rejection from being reported as unhandled.
    if (isThenable(p)) Promise.resolve(p).catch(() => {});
    checked.set(request, p);
  }
  return p;
}

function resolver(authn: Authenticator, opts: AuthOptions) {
  const fn = async ({ request }: { request: Request }) => ({ principal: await guardOnce(authn, request, opts) });
  return Object.assign(fn, { [GUARD]: opts });
}

// Tags read by the core's route table (see route-table.ts); the hooks themselves do nothing.
const acceptsForm = Object.assign(() => {}, { [FORM]: true });
const invalidAs400 = Object.assign(() => {}, { [INVALID_400]: true });

type Security = { security: Record<string, string[]>[] };
const bearer: Security = { security: [{ bearerAuth: [] }] };
const apiKeyDoc: Security = { security: [{ apiKeyHeader: [] }, { bearerAuth: [] }] };

/** Named auth macros; each resolves `principal` for the handler. */
export function authPlugin(authn: Authenticator) {
  return new Elysia().macro({
    /** A user's access token (login session). */
    access: {
      detail: bearer,
      resolve: resolver(authn, { accept: ["access"] }),
    },
    /** An admin's access token. */
    admin: {
      detail: bearer,
      resolve: resolver(authn, { accept: ["access"], role: "admin" }),
    },
    /** An API key of at least this level. */
    apiKey: (level: KeyLevel) => ({
      detail: apiKeyDoc,
      resolve: resolver(authn, { accept: ["apiKey"], level }),
    }),
    /** Any of several credentials (messaging, the brain question stream). */
    auth: (opts: AuthOptions) => ({
      detail: opts.accept.includes("apiKey") ? apiKeyDoc : bearer,
      resolve: resolver(authn, opts),
    }),
    /** The route takes form-urlencoded bodies besides JSON. */
    form: { transform: acceptsForm },
    /** The route's contract documents 400 for invalid parameters, whatever its family's default. */
    invalidAs400: { transform: invalidAs400 },
  });
}

export type AuthPlugin = ReturnType<typeof authPlugin>;
