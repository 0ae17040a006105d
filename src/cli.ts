import pkg from "../package.json";

export const USAGE = `chatgate ${pkg.version} — auth and token gateway of a chat stack

Usage:
  chatgate [serve]                 start the server (migrates first)
  chatgate migrate                 apply database migrations and exit
  chatgate user create --email E --password P [--name N] [--role admin|user]
  chatgate --help | --version

Configuration comes from the environment (PORT, HOST, DATABASE_URL, DATA_DIR, JWT_SECRET, ...);
see README.md for the full list.`;

export type Command =
  | { kind: "serve" }
  | { kind: "migrate" }
  | { kind: "user-create"; email: string; password: string; name?: string; role: "admin" | "user" }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "usage-error"; message: string };

function flags(args: string[], allowed: string[]): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !allowed.includes(m[1]!)) return `unknown option: ${a}`;
    const value = m[2] ?? args[++i];
    if (value === undefined || value.startsWith("--")) return `--${m[1]} needs a value`;
    out[m[1]!] = value;
  }
  return out;
}

export function parseArgs(argv: string[]): Command {
  const [cmd, ...rest] = argv;
  if (cmd === "--help" || cmd === "-h" || cmd === "help") return { kind: "help" };
  if (cmd === "--version" || cmd === "-v") return { kind: "version" };
  if (cmd === undefined || cmd === "serve") {
    return rest.length === 0 ? { kind: "serve" } : { kind: "usage-error", message: `unexpected argument: ${rest[0]}` };
  }
  if (cmd === "migrate") {
    return rest.length === 0 ? { kind: "migrate" } : { kind: "usage-error", message: `unexpected argument: ${rest[0]}` };
  }
  if (cmd === "user" && rest[0] === "create") {
    const f = flags(rest.slice(1), ["email", "password", "name", "role"]);
    if (typeof f === "string") return { kind: "usage-error", message: f };
    if (!f.email || !f.password) return { kind: "usage-error", message: "user create needs --email and --password" };
    const role = f.role ?? "user";
    if (role !== "admin" && role !== "user") return { kind: "usage-error", message: "--role must be admin or user" };
    return { kind: "user-create", email: f.email, password: f.password, name: f.name, role };
  }
  return { kind: "usage-error", message: `unknown command: ${argv.join(" ")}` };
}
