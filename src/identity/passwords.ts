// argon2id at OWASP's floor or above (m = 19 MiB, t = 2). Bun.password runs the hash on a worker
// thread, so logins never block the event loop.
const ARGON = { algorithm: "argon2id" as const, memoryCost: 19456, timeCost: 2 };

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 1024;

/** Returns a reason when the password is unacceptable; checked before any hashing. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < PASSWORD_MIN) return `Password must be at least ${PASSWORD_MIN} characters`;
  if (password.length > PASSWORD_MAX) return `Password must be at most ${PASSWORD_MAX} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(password)) return "Password must not contain control characters";
  return undefined;
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
