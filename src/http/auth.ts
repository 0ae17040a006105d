import { Elysia } from "elysia";
import { LEVEL_RANK, type Authenticator, type Credential, type KeyLevel, type Principal } from "./authenticator";
import { AppError, MESSAGES } from "./errors";

export interface AuthOptions {
  accept: Credential[];
  /** Minimum level when the credential is an API key. */
  level?: KeyLevel;
  role?: "admin";
}

/**
 * Runs in `resolve`, after validation: 401 when the caller is not authenticated, 403 when the
 * caller is known but not allowed. Messages are the ones the contracts document.
 */
export async function guard(authn: Authenticator, request: Request, opts: AuthOptions): Promise<Principal> {
  const r = await authn.authenticate(request, opts.accept);
  if (!r.ok) {
    if (r.status === 403) throw new AppError("FORBIDDEN", MESSAGES.forbidden);
    const keyish = r.presented === "apiKey" || (r.presented === "none" && opts.accept.every((c) => c === "apiKey"));
    throw new AppError("UNAUTHENTICATED", keyish ? MESSAGES.invalidApiKey : MESSAGES.invalidJwt);
  }
  const p = r.principal;
  if (opts.role === "admin" && p.user.role !== "admin") throw new AppError("FORBIDDEN", MESSAGES.forbidden);
  if (p.kind === "apiKey" && opts.level && LEVEL_RANK[p.level!] < LEVEL_RANK[opts.level]) {
    throw new AppError("FORBIDDEN", MESSAGES.forbidden);
  }
  return p;
}

type Security = { security: Record<string, string[]>[] };
const bearer: Security = { security: [{ bearerAuth: [] }] };
const apiKeyDoc: Security = { security: [{ apiKeyHeader: [] }, { bearerAuth: [] }] };

/** Named auth macros; each resolves `principal` for the handler. */
export function authPlugin(authn: Authenticator) {
  return new Elysia().macro({
    /** A user's access token (login session). */
    access: {
      detail: bearer,
      resolve: async ({ request }) => ({ principal: await guard(authn, request, { accept: ["access"] }) }),
    },
    /** An admin's access token. */
    admin: {
      detail: bearer,
      resolve: async ({ request }) => ({ principal: await guard(authn, request, { accept: ["access"], role: "admin" }) }),
    },
    /** An API key of at least this level. */
    apiKey: (level: KeyLevel) => ({
      detail: apiKeyDoc,
      resolve: async ({ request }: { request: Request }) => ({
        principal: await guard(authn, request, { accept: ["apiKey"], level }),
      }),
    }),
    /** Any of several credentials (messaging, the brain question stream). */
    auth: (opts: AuthOptions) => ({
      detail: opts.accept.includes("apiKey") ? apiKeyDoc : bearer,
      resolve: async ({ request }: { request: Request }) => ({ principal: await guard(authn, request, opts) }),
    }),
  });
}

export type AuthPlugin = ReturnType<typeof authPlugin>;
