import type { Counter } from "../http/metrics";
import { issuedAtMs, peekKind, type Claims, type TokenSigner, type VerifyResult } from "./jwt";
import {
  REFUSE_ALL,
  type Credential,
  type CredentialChecks,
  type KeyCheck,
  type MaybePromise,
  type Principal,
  type RejectReason,
  type RequestGate,
  type UserState,
  then,
} from "./principal";
import type { RevocationBus } from "./revocations";
import type { TokenKind } from "./signing-keys";
import type { UsageRecorder } from "./usage";

export type AuthResult = { ok: true; principal: Principal } | { ok: false; status: 401 | 403; presented: Credential | "none"; reason: RejectReason | "missing" };

const MISSING: AuthResult = Object.freeze({ ok: false, status: 401, presented: "none", reason: "missing" });
const failed = (presented: Credential, reason: RejectReason): AuthResult => ({ ok: false, status: 401, presented, reason });

// The claims each kind must carry, allocated once.
const ACCESS_CLAIMS: readonly string[] = ["sub", "jti", "sid"];
const API_CLAIMS: readonly string[] = ["sub", "jti"];
const CHAT_CLAIMS: readonly string[] = ["sub", "jti", "brain_id", "kid"];

// A JWT's verification code as a rejection reason: a bad signature is "not one of ours".
const JWT_REASON: Record<string, RejectReason> = { MALFORMED: "malformed", WRONG_KIND: "malformed", EXPIRED: "expired", INVALID: "unknown" };
const jwtReason = (v: VerifyResult) => (v.valid ? "unknown" : (JWT_REASON[v.code] ?? "unknown"));

const rejections = new WeakMap<Request, RejectReason | "missing">();

/** Why this request's credential was refused (for its log line), if it was. */
export function rejectionOf(request: Request): string | undefined {
  return rejections.get(request);
}

const API_KEY_PREFIX = /^sk_(live|test)_/;

/** What the request carries, without trusting any of it. Query strings are never read. */
export function presentedCredential(request: Request, kindOf: (token: string) => TokenKind | undefined = peekKind): { kind: Credential; value: string } | undefined {
  const key = request.headers.get("x-api-key");
  if (key) return { kind: "apiKey", value: key.trim() };
  const auth = request.headers.get("authorization");
  const m = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  if (!m) return undefined;
  const value = m[1]!;
  if (API_KEY_PREFIX.test(value)) return { kind: "apiKey", value };
  const kind = kindOf(value);
  if (kind === "access") return { kind: "access", value };
  if (kind === "api") return { kind: "apiToken", value };
  if (kind === "chat") return { kind: "chat", value };
  // Unknown or refresh-typed JWTs are still "a JWT" for the error message, never accepted.
  return { kind: "access", value: "" };
}

/** Signed before the user's last revoke-all, password change or disable, to the millisecond. */
const revokedByCutoff = (claims: Claims, user: UserState) => issuedAtMs(claims) < user.tokensValidAfterMs;

/**
 * Turns what a request carries into a Principal. JWT kinds are checked here (signature, pinned
 * `typ`, revocations, the user's cut-off); API keys, admin-token rows and users through the
 * checks features plug in with `plug`.
 */
export class Authenticator {
  private readonly kindOf: (token: string) => TokenKind | undefined;
  private checks: CredentialChecks = REFUSE_ALL;

  constructor(
    private readonly signer: TokenSigner,
    private readonly bus: RevocationBus,
    private readonly rejected?: Counter,
  ) {
    this.kindOf = (token) => signer.kindOf(token);
  }

  plug(checks: Partial<CredentialChecks>): void {
    this.checks = { ...this.checks, ...checks };
  }

  /** The admission check the core runs after a route's guard (see src/http/preflight.ts). */
  get gate(): RequestGate {
    return this.checks.gate;
  }

  /** Where the guard and the core count usage (a no-op until the usage feature plugs it in). */
  get usage(): UsageRecorder {
    return this.checks.usage;
  }

  /** Synchronous when every check it needs is cached (MaybePromise); callers await it either way. */
  authenticate(request: Request, accept: Credential[]): MaybePromise<AuthResult> {
    return then(this.check(request, accept), (r) => this.noted(request, r));
  }

  private noted(request: Request, r: AuthResult): AuthResult {
    if (!r.ok) this.noteRejection(request, r.presented, r.reason);
    return r;
  }

  /** Counts a refusal by credential kind and reason, and keeps the reason for the request's log line. */
  noteRejection(request: Request, kind: Credential | "none", reason: RejectReason | "missing"): void {
    rejections.set(request, reason);
    // No credential at all is not a credential refused.
    if (reason !== "missing") this.rejected?.inc({ kind, reason });
  }

  private check(request: Request, accept: Credential[]): MaybePromise<AuthResult> {
    const cred = presentedCredential(request, this.kindOf);
    if (!cred) return MISSING;
    // Not a credential this route takes (or an unreadable JWT).
    if (!accept.includes(cred.kind) || cred.value === "") return failed(cred.kind, "malformed");
    switch (cred.kind) {
      case "access":
        return then(this.signer.verify("access", cred.value, ACCESS_CLAIMS), (v) => this.access(v));
      case "apiToken":
        return then(this.signer.verify("api", cred.value, API_CLAIMS), (v) => this.apiToken(v));
      case "chat":
        return then(this.signer.verify("chat", cred.value, CHAT_CLAIMS), (v) => this.chat(v));
      case "apiKey":
        return then(this.checks.keys.verify(cred.value, request), (r) => this.apiKey(r));
    }
  }

  private apiKey(r: KeyCheck): MaybePromise<AuthResult> {
    if (!r.valid) return r.code === "FORBIDDEN_DOMAIN" ? { ok: false, status: 403, presented: "apiKey", reason: "domain" } : failed("apiKey", r.reason);
    return then(this.activeUser(r.userId), (user) =>
      user ? { ok: true, principal: { kind: "apiKey", user, tokenId: r.keyId, keyId: r.keyId, level: r.level, keyName: r.name, scopes: r.scopes } } : failed("apiKey", "revoked"),
    );
  }

  /** The user behind a token, unless unknown or disabled (introspection of refresh tokens). */
  activeUser(id: string): MaybePromise<UserState | null> {
    return then(this.checks.users.get(id), (user) => (user && !user.disabled ? user : null));
  }

  private access(v: VerifyResult): MaybePromise<AuthResult> {
    if (!v.valid) return failed("access", jwtReason(v));
    const { sub, jti, sid, iat } = v.claims as { sub: string; jti: string; sid: string; iat: number };
    if (this.bus.isRevoked("access", jti) || this.bus.isRevoked("session", sid)) return failed("access", "revoked");
    return then(this.activeUser(sub), (user) => {
      if (!user || revokedByCutoff(v.claims, user)) return failed("access", "revoked");
      return { ok: true, principal: { kind: "access", user, tokenId: jti, sessionId: sid, issuedAt: iat } };
    });
  }

  private async apiToken(v: VerifyResult): Promise<AuthResult> {
    if (!v.valid) return failed("apiToken", jwtReason(v));
    const { sub, jti, iat } = v.claims as { sub: string; jti: string; iat: number };
    if (this.bus.isRevoked("api_token", jti)) return failed("apiToken", "revoked");
    if (!(await this.checks.apiTokens.isActive(jti, sub))) return failed("apiToken", "revoked");
    const user = await this.activeUser(sub);
    if (!user || revokedByCutoff(v.claims, user)) return failed("apiToken", "revoked");
    this.checks.apiTokens.noteUsed(jti);
    return { ok: true, principal: { kind: "apiToken", user, tokenId: jti, issuedAt: iat } };
  }

  private chat(v: VerifyResult): MaybePromise<AuthResult> {
    if (!v.valid) return failed("chat", jwtReason(v));
    const { sub, jti, brain_id, kid, iat } = v.claims as { sub: string; jti: string; brain_id: string; kid: string; iat: number };
    // A chat token dies with the API key that minted it, and with a revoke-all of its user.
    if (this.bus.isRevoked("api_key", kid) || this.bus.isRevoked("chat_token", jti)) return failed("chat", "revoked");
    return then(this.activeUser(sub), (user) => {
      if (!user || revokedByCutoff(v.claims, user)) return failed("chat", "revoked");
      return { ok: true, principal: { kind: "chat", user, tokenId: jti, brainId: brain_id, issuedAt: iat, keyId: kid } };
    });
  }
}
