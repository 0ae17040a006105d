import { ZxcvbnFactory } from "@zxcvbn-ts/core";
import { adjacencyGraphs, dictionary } from "@zxcvbn-ts/language-common";
import { IDENTITY_ERRORS } from "./errors";

// argon2id at OWASP's floor or above (m = 19 MiB, t = 2). Bun.password runs the hash on a worker
// thread, so logins never block the event loop.
const ARGON = { algorithm: "argon2id" as const, memoryCost: 19456, timeCost: 2 };

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 1024;

// zxcvbn-ts with its common-password dictionary (~49,000 entries) and keyboard graphs, bundled
// into the binary. Built on first use (~0.1 s), only where a password is being set.
let checker: ZxcvbnFactory | undefined;

/**
 * NIST SP 800-63B: no composition rules, but refuse what an attacker tries first. zxcvbn's score 0
 * (guessable in under 1,000 guesses) is exactly that: a password on the common list or a trivial
 * variant of one (case, l33t, a digit), repeats, sequences, keyboard walks, dates.
 */
function guessability(password: string): string | undefined {
  checker ??= new ZxcvbnFactory({ dictionary, graphs: adjacencyGraphs });
  // zxcvbn's cost grows fast with length, so it reads 100 characters at a time: a long password
  // is refused only when no slice of it is any good (a weak start does not condemn a strong rest).
  const result = checker.check(password.slice(0, 100));
  for (let at = 100; result.score === 0 && at < password.length; at += 100) {
    const next = checker.check(password.slice(at, at + 100));
    if (next.score > 0) return undefined;
  }
  if (result.score > 0) return undefined;
  switch (result.feedback.warning) {
    case "simpleRepeat":
    case "extendedRepeat":
      return IDENTITY_ERRORS.PASSWORD_REPEAT.message;
    case "sequences":
      return IDENTITY_ERRORS.PASSWORD_SEQUENCE.message;
    case "straightRow":
    case "keyPattern":
      return IDENTITY_ERRORS.PASSWORD_KEYBOARD.message;
    case "dates":
    case "recentYears":
      return IDENTITY_ERRORS.PASSWORD_DATE.message;
    case "topTen":
    case "topHundred":
    case "common":
    case "similarToCommon":
    case "wordByItself":
    case "pwned":
      return IDENTITY_ERRORS.PASSWORD_COMMON.message;
    default:
      return IDENTITY_ERRORS.PASSWORD_GUESSABLE.message;
  }
}

/** Returns a reason (an IDENTITY_ERRORS message) when a new password is unacceptable; checked before any hashing. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < PASSWORD_MIN) return IDENTITY_ERRORS.PASSWORD_TOO_SHORT.message(PASSWORD_MIN);
  if (password.length > PASSWORD_MAX) return IDENTITY_ERRORS.PASSWORD_TOO_LONG.message(PASSWORD_MAX);
  // eslint-disable-next-line no-control-regex
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(password)) return IDENTITY_ERRORS.PASSWORD_CONTROL_CHARACTERS.message;
  if (password.trim() === "") return IDENTITY_ERRORS.PASSWORD_WHITESPACE.message;
  return guessability(password);
}

// argon2id is CPU-bound on worker threads: with one hash per login in flight, a login flood takes
// every core and starves the event loop (other requests' p99 went from 4 ms to 120 ms). At most
// cores − 1 hashes run at once, so one core always serves the event loop; the rest queue.
const HASH_SLOTS = Math.max(1, (navigator.hardwareConcurrency ?? 2) - 1);
let busy = 0;
const waiting: (() => void)[] = [];

async function withHashSlot<T>(work: () => Promise<T>): Promise<T> {
  if (busy >= HASH_SLOTS) await new Promise<void>((resolve) => waiting.push(resolve));
  else busy++;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else busy--;
  }
}

export function hashPassword(password: string): Promise<string> {
  return withHashSlot(() => Bun.password.hash(password, ARGON));
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return withHashSlot(() => Bun.password.verify(password, hash)).catch(() => false);
}

// Verified against when the user does not exist, so an unknown user costs one argon2id like a
// wrong password does.
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(crypto.randomUUID());
  return dummyHash;
}
