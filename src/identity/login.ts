import type { IdentityContext } from "./context";
import type { User } from "./schema";
import { AppError } from "../http/errors";
import { identityMetrics } from "./metrics";
import { dummyPasswordHash, PASSWORD_MAX, verifyPassword } from "./passwords";
import { issueSession, type IssuedSession } from "./sessions";
import { clearFailures, countersFor, refundAttempt, rememberAddress, takeAttempt, throttleKeys, type ThrottleKeys } from "./throttle";
import { toUserState } from "./user-cache";
import { findUserForLogin } from "./users";
import { audit, type AuditTrail } from "../audit/service";
import { IDENTITY_ERRORS } from "./errors";

type Ctx = Pick<IdentityContext, "db" | "config" | "signer" | "metrics" | "log" | "events" | "throttleNoticed" | "usage">;

export interface LoginInput {
  username: string;
  password: string;
  address: string;
  userAgent?: string | null;
  /** Who is trying, for the audit rows of refused and throttled attempts. */
  trail?: AuditTrail;
  /** The account tried, when it exists: refused logins count in its usage. */
  userId?: string;
}

export interface LoginOutcome {
  user: User;
  session: IssuedSession;
}

/** Checked before any hashing: an oversized password must not buy a caller argon2 work. */
export function assertLoginPassword(password: string): void {
  if (password.length > PASSWORD_MAX) throw IDENTITY_ERRORS.PASSWORD_TOO_LONG(PASSWORD_MAX);
  // eslint-disable-next-line no-control-regex
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(password)) throw IDENTITY_ERRORS.PASSWORD_CONTROL_CHARACTERS();
}

/**
 * Counts the attempt up front and refuses with 429 when one of its counters (see throttle.ts) is
 * past its limit, before any password is checked. `run` does the check: its refusal (401) stays
 * counted; anything else that ends it early (a 503, a fault) gives the attempt back; a success
 * clears the (account, address) counter, gives the others their attempt back and remembers the
 * address. It does not clear the account counter: the owner signing in must not hand whoever is
 * guessing from elsewhere a fresh allowance.
 */
export async function throttledLogin(ctx: Ctx, keys: ThrottleKeys, run: (counted: string[]) => Promise<LoginOutcome>, input?: LoginInput): Promise<LoginOutcome> {
  // The name tried is not a secret (the password is never recorded); it tells whose account is attacked.
  const refused = (action: string) => audit(ctx.db, input?.trail, { action, target: { type: "user", id: null }, changes: { username: [null, input?.username ?? null] } });
  const { loginWindowSec } = ctx.config;
  const counters = await countersFor(ctx.db, keys, ctx.config);
  const counted = counters.map((c) => c.key);
  const wait = await takeAttempt(ctx.db, counters, loginWindowSec);
  if (wait > 0) {
    identityMetrics(ctx.metrics).logins.inc({ result: "throttled" });
    ctx.usage.add("failedLogins", input?.userId ?? "");
    await refused("login.throttled");
    await noticeThrottle(ctx, keys, wait);
    throw IDENTITY_ERRORS.LOGIN_THROTTLED.withHeaders({ "Retry-After": String(wait) });
  }
  try {
    return await run(counted);
  } catch (e) {
    if (!(e instanceof AppError && e.code === "UNAUTHENTICATED")) {
      await refundAttempt(ctx.db, counted, loginWindowSec).catch(() => {});
    } else {
      await refused("login.failed");
    }
    throw e;
  }
}

/** login.throttled, once per account and throttle window on this instance (not per refused attempt). */
async function noticeThrottle(ctx: Ctx, keys: ThrottleKeys, waitSec: number): Promise<void> {
  const now = Date.now();
  if ((ctx.throttleNoticed.get(keys.pair) ?? 0) > now) return;
  for (const [k, until] of ctx.throttleNoticed) if (until <= now) ctx.throttleNoticed.delete(k);
  ctx.throttleNoticed.set(keys.pair, now + waitSec * 1000);
  const [account, address] = keys.pair.slice("pair:".length).split("|");
  await ctx.events.emit(ctx.db, "login.throttled", { account, address, retry_after_s: waitSec }).catch((err) => {
    ctx.log.warn("login.throttled event not queued", { error: String((err as Error)?.message ?? err) });
  });
}

/** The attempt was already counted by `throttledLogin`. `userId`: the account tried, if it exists. */
export function failLogin(ctx: Ctx, userId = ""): never {
  identityMetrics(ctx.metrics).logins.inc({ result: "failed" });
  ctx.usage.add("failedLogins", userId);
  throw IDENTITY_ERRORS.BAD_LOGIN();
}

/** A verified user gets a new session; its (account, address) counter starts over (see throttledLogin). */
export async function completeLogin(ctx: Ctx, user: User, keys: ThrottleKeys, counted: string[], userAgent?: string | null): Promise<LoginOutcome> {
  await clearFailures(ctx.db, keys.pair);
  await refundAttempt(
    ctx.db,
    counted.filter((k) => k !== keys.pair),
    ctx.config.loginWindowSec,
  );
  await rememberAddress(ctx.db, keys);
  const session = await issueSession(ctx, toUserState(user), userAgent);
  const m = identityMetrics(ctx.metrics);
  m.logins.inc({ result: "ok" });
  m.tokensIssued.inc({ kind: "access" });
  m.tokensIssued.inc({ kind: "refresh" });
  ctx.usage.add("logins", user.id);
  ctx.usage.add("tokensAccess", user.id);
  ctx.usage.add("tokensRefresh", user.id);
  return { user, session };
}

/**
 * Username-or-email and password against the local argon2id hash. An unknown user, a user
 * without a local password and a disabled user cost one argon2id verification like a wrong
 * password does, and all get the same 401.
 */
export async function passwordLogin(ctx: Ctx, input: LoginInput): Promise<LoginOutcome> {
  assertLoginPassword(input.password);
  const user = await findUserForLogin(ctx.db, input.username);
  const keys = throttleKeys(user?.email ?? input.username, input.address);
  return throttledLogin(
    ctx,
    keys,
    async (counted) => {
      const hash = user?.passwordHash ?? (await dummyPasswordHash());
      const ok = await verifyPassword(input.password, hash);
      if (!ok || !user?.passwordHash || user.disabledAt) return failLogin(ctx, user?.id);
      return completeLogin(ctx, user, keys, counted, input.userAgent);
    },
    { ...input, userId: user?.id },
  );
}
