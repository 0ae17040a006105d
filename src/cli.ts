import { Value } from "@sinclair/typebox/value";
import pkg from "../package.json";
import { createUserRequest } from "./identity/model";

// Every variable src/config.ts reads, with its default (a test keeps this list complete).
const ENVIRONMENT: [name: string, meaning: string, def: string][] = [
  ["PORT / HOST", "listen address (0.0.0.0 = every IPv4 interface)", "8080 / 0.0.0.0"],
  ["REUSE_PORT", "let several processes share the port (SO_REUSEPORT); otherwise a taken port stops start-up", "false"],
  ["DATABASE_URL", "Postgres URL; unset = embedded PGlite", "unset"],
  ["DATABASE_POOLER", "none | session | transaction (PgBouncer's pool_mode in front of DATABASE_URL)", "none"],
  ["DATABASE_LISTEN_URL", "direct Postgres URL for LISTEN/NOTIFY; required with DATABASE_POOLER=transaction", "unset"],
  ["DATABASE_POOL_SIZE", "connections per instance to DATABASE_URL", "10"],
  ["DATA_DIR", "PGlite data folder (memory:// for a throw-away database); holds first-admin-password", "./data"],
  ["JWT_SECRET / JWT_SECRET_FILE", "master secret (>= 32 bytes) or a file holding it; required with DATABASE_URL", "PGlite: generated once into <DATA_DIR>.jwt-secret"],
  ["JWT_SECRET_PREVIOUS / JWT_SECRET_PREVIOUS_FILE", "the secret before a rotation: verifies, never signs", "unset"],
  ["JWT_ALG", "HS256 | EdDSA | ES256: how access, chat and API tokens are signed (EdDSA/ES256: keys in the JWKS)", "HS256"],
  ["JWT_ISSUER", "iss of every token (chatgate's public URL makes it the RFC 8414 issuer)", "chatgate"],
  ["ADMIN_EMAIL / ADMIN_PASSWORD", "first admin, created when there are no users", "admin@localhost / generated"],
  ["FLOWISE_URL / FLOWISE_API_KEY", "upstream Flowise", "unset"],
  ["FLOWISE_TIMEOUT", "seconds to Flowise's first byte", "60"],
  ["FLOWISE_OVERRIDE_ALLOW", "overrideConfig keys passed upstream", "none"],
  ["STREAM_API_KEY / STREAM_API_SECRET", "Stream Chat credentials", "unset"],
  ["STREAM_BASE_URL", "Stream API base URL", "SDK default"],
  ["STREAM_TOKEN_TTL", "seconds; Stream tokens carry exp", "no expiry"],
  ["STREAM_TOKEN_RATE", "Stream tokens per user per minute (a rate limit shared by all instances)", "30"],
  ["RATE_LIMIT_USER", "every user's quota, limit/window_seconds (an admin may set a user's own)", "unset (off)"],
  ["RATE_LIMIT_ADDRESS", "per client address on routes without credentials (logins), limit/window_seconds", "unset (off)"],
  ["RATE_LIMIT_PREDICT_COST", "what a prediction or question stream counts against a quota", "10"],
  ["CORS_ORIGINS", "comma-separated exact origins", "none"],
  ["LOG_LEVEL", "debug | info | warn | error", "info"],
  ["MAX_BODY_BYTES", "request body limit", "1048576"],
  ["ACCESS_TOKEN_TTL / REFRESH_TOKEN_TTL", "seconds", "900 / 2592000"],
  ["REFRESH_REUSE_GRACE", "seconds a rotated refresh token may be exchanged again (0 = strict)", "10"],
  ["AUTH_SERVICE_URL", "external login service", "unset"],
  ["AUTH_SERVICE_LINK_BY_EMAIL", "let an external identity take over a local password account by email (never admins)", "false"],
  ["LOGIN_MAX_FAILURES / LOGIN_WINDOW", "failed logins per (account, address) and per address, per window (seconds)", "10 / 900"],
  ["LOGIN_ACCOUNT_MAX_FAILURES", "failed logins per account per window from addresses it never signed in from", "100"],
  ["TRUST_PROXY", "client address from X-Forwarded-For", "false"],
  ["ACCEPT_TEST_KEYS", "accept sk_test_ keys", "true"],
  ["SHUTDOWN_GRACE", "seconds open requests get on SIGTERM", "10"],
  ["SSE_HEARTBEAT_MS", "SSE heartbeat interval", "15000"],
  ["RESERVATION_TIMEOUT", "seconds before a held credit reservation is reconciled", "600"],
  ["MESSAGE_TRANSPORT", "none | webhook | stream", "none"],
  ["MESSAGE_WEBHOOK_URL / MESSAGE_WEBHOOK_SECRET", "webhook target and HMAC secret", "unset"],
  ["MESSAGE_MAX_ATTEMPTS", "delivery attempts", "5"],
  ["KEY_ROLL_GRACE", "seconds a rolled API key's previous secret keeps working", "86400"],
  ["AUDIT_RETENTION_DAYS", "days audit rows are kept", "365"],
  ["USAGE_RETENTION_DAYS", "days usage rollups are kept", "90"],
  ["USAGE_FLUSH_MS", "how often usage counts are written to the database", "5000"],
  ["MESSAGE_RETRY_BASE_MS", "first retry delay", "5000"],
  ["MESSAGE_POLL_MS", "outbox poll interval", "1000"],
  ["MESSAGE_SEND_TIMEOUT_MS", "one delivery attempt", "10000"],
  ["MAX_RECIPIENTS", "recipients per send request", "1000"],
  ["WEBHOOK_ALLOW_HTTP", "event webhooks may target loopback (http:// too)", "false"],
  ["WEBHOOK_ALLOW_PRIVATE", "event webhooks may target private and link-local addresses", "false"],
  ["MAX_STREAMS_PER_USER", "concurrent SSE streams per user on one instance", "10"],
  ["METRICS_TOKEN", "bearer token /metrics requires", "unset (public)"],
  ["TLS_CERT_FILE / TLS_KEY_FILE", "PEM certificate (chain allowed) and key: HTTPS (TLS 1.2/1.3) on PORT; SIGHUP reloads them", "unset (plain HTTP)"],
  ["HTTP_REDIRECT_PORT", "plain listener answering 308 to the https:// URL (needs TLS)", "unset (none)"],
  ["HSTS_MAX_AGE", "Strict-Transport-Security max-age on HTTPS responses (0 = no header)", "31536000"],
  ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTLP/HTTP collector base URL: turns tracing on (other OTEL_* variables apply)", "unset (off)"],
  ["OTEL_SERVICE_NAME", "service.name of the spans", "chatgate"],
  ["CHATGATE_PASSWORD", "user create: the password (instead of stdin)", "unset"],
];

const width = Math.max(...ENVIRONMENT.map(([n]) => n.length));

export const USAGE = `chatgate ${pkg.version} — auth and token gateway of a chat stack

Usage:
  chatgate [serve]                 start the server (migrates first)
  chatgate migrate                 apply database migrations and exit
  chatgate user create --email E [--name N] [--role admin|user]
                                   the password comes from CHATGATE_PASSWORD, else the first
                                   line of stdin (--password P works but shows it to \`ps\`)
  chatgate keys rotate             make a new signing key current (JWT_ALG=EdDSA|ES256); the
                                   previous one verifies until its tokens have expired
  chatgate healthcheck             exit 0 when the local server's /readyz answers 200 (PORT)
  chatgate --help | --version

Environment (default):
${ENVIRONMENT.map(([n, m, d]) => `  ${n.padEnd(width)}  ${m} (${d})`).join("\n")}

See README.md for the details.`;

export type Command =
  | { kind: "serve" }
  | { kind: "migrate" }
  | { kind: "healthcheck" }
  | { kind: "keys-rotate" }
  | { kind: "user-create"; email: string; password?: string; name?: string; role: "admin" | "user" }
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

const emailSchema = createUserRequest.properties.email;

export function parseArgs(argv: string[]): Command {
  const [cmd, ...rest] = argv;
  if (cmd === "--help" || cmd === "-h" || cmd === "help") return { kind: "help" };
  if (cmd === "--version" || cmd === "-v") return { kind: "version" };
  if (cmd === undefined || cmd === "serve" || cmd === "migrate" || cmd === "healthcheck") {
    if (rest.length) return { kind: "usage-error", message: `unexpected argument: ${rest[0]}` };
    return { kind: cmd ?? "serve" };
  }
  if (cmd === "keys" && rest[0] === "rotate") {
    if (rest.length > 1) return { kind: "usage-error", message: `unexpected argument: ${rest[1]}` };
    return { kind: "keys-rotate" };
  }
  if (cmd === "user" && rest[0] === "create") {
    const f = flags(rest.slice(1), ["email", "password", "name", "role"]);
    if (typeof f === "string") return { kind: "usage-error", message: f };
    if (!f.email) return { kind: "usage-error", message: "user create needs --email" };
    // The API's own rule (POST /api/auth/users), so the CLI cannot create what the API refuses.
    if (!Value.Check(emailSchema, f.email)) return { kind: "usage-error", message: `--email: must be an email address` };
    const role = f.role ?? "user";
    if (role !== "admin" && role !== "user") return { kind: "usage-error", message: "--role must be admin or user" };
    return { kind: "user-create", email: f.email, password: f.password, name: f.name, role };
  }
  return { kind: "usage-error", message: `unknown command: ${argv.join(" ")}` };
}

/** CHATGATE_PASSWORD, else the first line of stdin (a prompt on a terminal). */
export async function readPassword(env: Record<string, string | undefined> = process.env): Promise<string | undefined> {
  if (env.CHATGATE_PASSWORD) return env.CHATGATE_PASSWORD;
  if (process.stdin.isTTY) process.stderr.write("password: ");
  for await (const line of console) return line.replace(/\r$/, "");
  return undefined;
}
