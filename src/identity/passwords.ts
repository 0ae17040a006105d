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

export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, ARGON);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return Bun.password.verify(password, hash).catch(() => false);
}

// Verified against when the user does not exist, so an unknown user costs one argon2id like a
// wrong password does.
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(crypto.randomUUID());
  return dummyHash;
}
