import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const FIRST_ADMIN_FILE = "first-admin-password";

/**
 * The generated password of the first admin goes to a file only its owner can read, never to
 * stdout or the log stream (which collectors keep and ship). The data dir holds it; a throw-away
 * in-memory database gets a private temporary folder instead. Returns the file's absolute path.
 */
export function writeFirstAdminPassword(dataDir: string, email: string, password: string): string {
  const dir = dataDir.startsWith("memory://") ? mkdtempSync(join(tmpdir(), "chatgate-")) : resolve(dataDir);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, FIRST_ADMIN_FILE);
  // A file left by an earlier bootstrap (a database since reset) is replaced, not appended to;
  // O_EXCL after the unlink guarantees the file written is the one created here, with 0600.
  if (existsSync(file)) unlinkSync(file);
  const fd = openSync(file, "wx", 0o600);
  try {
    writeSync(fd, `# chatgate first admin (change the password, then delete this file)\nemail=${email}\npassword=${password}\n`);
  } finally {
    closeSync(fd);
  }
  chmodSync(file, 0o600);
  return file;
}
