import { readFileSync } from "node:fs";
import { passwordProblem } from "./identity/passwords";
import { JWT_ALGS, type JwtAlg } from "./kernel/key-ring";

// Environment is parsed once at start; a bad value stops start-up with a message naming the variable.

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Config {
  port: number;
  host: string;
  /** SO_REUSEPORT: several processes may listen on one port (off: a taken port is an error). */
  reusePort: boolean;
  databaseUrl?: string;
  /** What sits between chatgate and Postgres: nothing, or PgBouncer in session/transaction mode. */
  databasePooler: "none" | "session" | "transaction";
  /** A direct (unpooled) connection for LISTEN; required behind a transaction pooler. */
  databaseListenUrl?: string;
  /** Connections this instance opens to DATABASE_URL (LISTEN takes one more). */
  databasePoolSize: number;
  dataDir: string;
  /** JWT_SECRET, or the contents of JWT_SECRET_FILE. */
  jwtSecret?: string;
  /** The master secret before a rotation: still accepted for verification, never used to sign. */
  jwtSecretPrevious?: string;
  /** HS256 (default), or EdDSA / ES256: access, chat and API tokens signed with a key from the JWKS. */
  jwtAlg: JwtAlg;
  adminEmail?: string;
  adminPassword?: string;
  flowiseUrl?: string;
  flowiseApiKey?: string;
  flowiseTimeoutMs: number;
  flowiseOverrideAllow: string[];
  streamApiKey?: string;
  streamApiSecret?: string;
  streamBaseUrl?: string;
  streamTokenTtlSec?: number;
  corsOrigins: string[];
  logLevel: LogLevel;
  maxBodyBytes: number;
  accessTokenTtlSec: number;
  refreshTokenTtlSec: number;
  /** Seconds after its rotation during which a refresh token may be exchanged again; 0 = strict. */
  refreshReuseGraceSec: number;
  authServiceUrl?: string;
  /** Let an external identity take over a local password account with its email (never an admin). */
  authServiceLinkByEmail: boolean;
  loginMaxFailures: number;
  /** Per account, from addresses it has not signed in from (see identity/throttle.ts). */
  loginAccountMaxFailures: number;
  loginWindowSec: number;
  /** Read the client address from X-Forwarded-For (only behind a proxy that sets it). */
  trustProxy: boolean;
  acceptTestKeys: boolean;
  shutdownGraceMs: number;
  issuer: string;
  streamTokenRatePerMin: number;
  heartbeatMs: number;
  reservationTimeoutSec: number;
  messageTransport: "none" | "webhook" | "stream";
  messageWebhookUrl?: string;
  messageWebhookSecret?: string;
  messageMaxAttempts: number;
  /** Outbox worker: how often it looks for due messages when nothing woke it. */
  messagePollMs: number;
  /** First retry delay; doubles per attempt (capped at one hour). */
  messageRetryBaseMs: number;
  /** One delivery attempt (webhook POST or Stream calls) is abandoned after this. */
  messageSendTimeoutMs: number;
  maxRecipients: number;
  /** Event webhooks: also admit http:// and https:// targets on loopback (local receivers, tests). */
  webhookAllowHttp: boolean;
  /** Event webhooks: admit targets on private and link-local addresses (an operator's own network). */
  webhookAllowPrivate: boolean;
  /** Bearer token /metrics requires when set (admins' access tokens work too). */
  metricsToken?: string;
  /** Concurrent SSE streams (predict, brain question stream) one user may hold. */
  maxStreamsPerUser: number;
  /** Seconds a rolled API key's previous secret keeps working when the roll names no grace_s. */
  keyRollGraceSec: number;
  /** Audit rows older than this are pruned in the background. */
  auditRetentionDays: number;
  /** Usage rollups older than this are pruned in the background. */
  usageRetentionDays: number;
  /** How often each instance adds its in-memory usage counts to the rollups (ms). */
  usageFlushMs: number;
  /** PEM certificate (chain allowed) and key: both set = HTTPS on PORT (src/ops/tls.ts). */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** A plain listener answering 308 to the https:// URL (only with TLS). */
  httpRedirectPort?: number;
  /** Strict-Transport-Security max-age on HTTPS responses; 0 = no header. */
  hstsMaxAge: number;
  /** Every user's quota unless an admin set their own (RATE_LIMIT_USER, `limit/window_s`). */
  rateLimitUser?: Quota;
  /** Per client address on routes that take no credential (logins included). */
  rateLimitAddress?: Quota;
  /** What a prediction or a question stream counts against a quota (other requests count 1). */
  rateLimitPredictCost: number;
}

/** A quota per window: `limit` units per `windowS` seconds. */
export interface Quota {
  limit: number;
  windowS: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`${variable}: ${reason}`);
  }
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

/** The longest grace a rolled key's previous secret may get (30 days). */
export const MAX_KEY_ROLL_GRACE_SEC = 30 * 86400;

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** `600/60` (600 per 60 seconds) or `600` (per minute); unset or `off` = no such quota. */
function quota(env: Env, name: string): Quota | undefined {
  const raw = str(env, name);
  if (raw === undefined || raw.toLowerCase() === "off") return undefined;
  const m = /^(\d+)(?:\/(\d+))?$/.exec(raw);
  if (!m) throw new ConfigError(name, `must be limit/window_seconds (e.g. 600/60), got "${raw}"`);
  const limit = Number(m[1]);
  const windowS = m[2] === undefined ? 60 : Number(m[2]);
  if (limit < 1 || limit > 1_000_000_000) throw new ConfigError(name, `limit must be between 1 and 1000000000, got ${limit}`);
  if (windowS < 1 || windowS > 86400) throw new ConfigError(name, `window must be between 1 and 86400 seconds, got ${windowS}`);
  return { limit, windowS };
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = str(env, name)?.toLowerCase();
  if (raw === undefined) return def;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function url(env: Env, name: string): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, "must be an absolute URL");
  }
  const ok = name.startsWith("DATABASE_") ? ["postgres:", "postgresql:"] : ["http:", "https:"];
  if (!ok.includes(parsed.protocol)) throw new ConfigError(name, `must use ${ok.join(" or ")}`);
  return raw.replace(/\/+$/, "");
}

function list(env: Env, name: string): string[] {
  return (str(env, name) ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], def: T): T {
  const raw = str(env, name)?.toLowerCase();
  if (raw === undefined) return def;
  if (!(values as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${values.join(", ")}, got "${raw}"`);
  }
  return raw as T;
}

/** A secret given directly or as a file (`<NAME>_FILE`, as Docker and Kubernetes secrets are). */
function secret(env: Env, name: string): string | undefined {
  const direct = str(env, name);
  const file = str(env, `${name}_FILE`);
  if (direct !== undefined && file !== undefined) throw new ConfigError(name, `set ${name} or ${name}_FILE, not both`);
  let value = direct;
  if (file !== undefined) {
    try {
      value = readFileSync(file, "utf8").trim();
    } catch {
      throw new ConfigError(`${name}_FILE`, `cannot read ${file}`);
    }
  }
  if (value !== undefined && Buffer.byteLength(value) < 32) {
    throw new ConfigError(file !== undefined ? `${name}_FILE` : name, "must be at least 32 bytes");
  }
  return value;
}

/** Case matters in JWS names, but a lower-case spelling is no different choice. */
function jwtAlg(env: Env): JwtAlg {
  const raw = str(env, "JWT_ALG");
  if (raw === undefined) return "HS256";
  const alg = JWT_ALGS.find((a) => a.toLowerCase() === raw.toLowerCase());
  if (!alg) throw new ConfigError("JWT_ALG", `must be one of ${JWT_ALGS.join(", ")}, got "${raw}"`);
  return alg;
}

export function loadConfig(env: Env = process.env): Config {
  const jwtSecret = secret(env, "JWT_SECRET");
  const jwtSecretPrevious = secret(env, "JWT_SECRET_PREVIOUS");
  // A generated secret has no safe home in a shared database (whoever reads it could sign as anyone).
  if (str(env, "DATABASE_URL") !== undefined && jwtSecret === undefined) {
    throw new ConfigError("JWT_SECRET", "is required with DATABASE_URL: set JWT_SECRET or JWT_SECRET_FILE (at least 32 bytes, e.g. `openssl rand -base64 48`)");
  }
  const streamApiKey = str(env, "STREAM_API_KEY");
  const streamApiSecret = str(env, "STREAM_API_SECRET");
  if (Boolean(streamApiKey) !== Boolean(streamApiSecret)) {
    throw new ConfigError(streamApiKey ? "STREAM_API_SECRET" : "STREAM_API_KEY", "STREAM_API_KEY and STREAM_API_SECRET go together");
  }
  const adminEmail = str(env, "ADMIN_EMAIL");
  const adminPassword = str(env, "ADMIN_PASSWORD");
  const adminPasswordProblem = adminPassword === undefined ? undefined : passwordProblem(adminPassword);
  if (adminPasswordProblem) throw new ConfigError("ADMIN_PASSWORD", adminPasswordProblem);
  const transport = oneOf(env, "MESSAGE_TRANSPORT", ["none", "webhook", "stream"] as const, "none");
  const webhookUrl = url(env, "MESSAGE_WEBHOOK_URL");
  if (transport === "webhook" && !webhookUrl) throw new ConfigError("MESSAGE_WEBHOOK_URL", "is required when MESSAGE_TRANSPORT=webhook");
  const webhookSecret = str(env, "MESSAGE_WEBHOOK_SECRET");
  if (transport === "webhook" && !webhookSecret) throw new ConfigError("MESSAGE_WEBHOOK_SECRET", "is required when MESSAGE_TRANSPORT=webhook");
  if (transport === "stream" && !streamApiKey) throw new ConfigError("STREAM_API_KEY", "is required when MESSAGE_TRANSPORT=stream");
  const metricsToken = str(env, "METRICS_TOKEN");
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,512}$/.test(metricsToken)) {
    throw new ConfigError("METRICS_TOKEN", "must be 16 to 512 printable characters without spaces");
  }
  const databaseUrl = url(env, "DATABASE_URL");
  const databasePooler = oneOf(env, "DATABASE_POOLER", ["none", "session", "transaction"] as const, "none");
  const databaseListenUrl = url(env, "DATABASE_LISTEN_URL");
  if (!databaseUrl && (databasePooler !== "none" || databaseListenUrl)) {
    throw new ConfigError(databaseListenUrl ? "DATABASE_LISTEN_URL" : "DATABASE_POOLER", "needs DATABASE_URL (the embedded database has no pooler)");
  }
  // LISTEN holds a server connection for the session: a transaction pooler hands the server to
  // other clients between transactions, and notifications would be lost without any error.
  if (databasePooler === "transaction" && !databaseListenUrl) {
    throw new ConfigError("DATABASE_LISTEN_URL", "is required when DATABASE_POOLER=transaction: a direct Postgres URL (not through PgBouncer) for LISTEN/NOTIFY");
  }
  const tlsCertFile = str(env, "TLS_CERT_FILE");
  const tlsKeyFile = str(env, "TLS_KEY_FILE");
  if (Boolean(tlsCertFile) !== Boolean(tlsKeyFile)) {
    throw new ConfigError(tlsCertFile ? "TLS_KEY_FILE" : "TLS_CERT_FILE", "TLS_CERT_FILE and TLS_KEY_FILE go together (both set = HTTPS)");
  }
  const httpRedirectPort = str(env, "HTTP_REDIRECT_PORT") === undefined ? undefined : int(env, "HTTP_REDIRECT_PORT", 0, 0, 65535);
  if (httpRedirectPort !== undefined && !tlsCertFile) {
    throw new ConfigError("HTTP_REDIRECT_PORT", "needs TLS_CERT_FILE and TLS_KEY_FILE (it redirects to HTTPS)");
  }
  const port = int(env, "PORT", 8080, 0, 65535);
  if (httpRedirectPort !== undefined && httpRedirectPort !== 0 && httpRedirectPort === port) {
    throw new ConfigError("HTTP_REDIRECT_PORT", "must differ from PORT");
  }
  const streamTtl = str(env, "STREAM_TOKEN_TTL") === undefined ? undefined : int(env, "STREAM_TOKEN_TTL", 0, 60, 10 * 365 * 86400);
  return {
    port,
    host: str(env, "HOST") ?? "0.0.0.0",
    reusePort: bool(env, "REUSE_PORT", false),
    databaseUrl,
    databasePooler,
    databaseListenUrl,
    databasePoolSize: int(env, "DATABASE_POOL_SIZE", 10, 1, 1000),
    dataDir: str(env, "DATA_DIR") ?? "./data",
    jwtSecret,
    jwtSecretPrevious,
    jwtAlg: jwtAlg(env),
    adminEmail,
    adminPassword,
    flowiseUrl: url(env, "FLOWISE_URL"),
    flowiseApiKey: str(env, "FLOWISE_API_KEY"),
    flowiseTimeoutMs: int(env, "FLOWISE_TIMEOUT", 60, 1, 3600) * 1000,
    flowiseOverrideAllow: list(env, "FLOWISE_OVERRIDE_ALLOW"),
    streamApiKey,
    streamApiSecret,
    streamBaseUrl: url(env, "STREAM_BASE_URL"),
    streamTokenTtlSec: streamTtl,
    corsOrigins: list(env, "CORS_ORIGINS"),
    logLevel: oneOf(env, "LOG_LEVEL", ["debug", "info", "warn", "error"] as const, "info"),
    maxBodyBytes: int(env, "MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
    accessTokenTtlSec: int(env, "ACCESS_TOKEN_TTL", 15 * 60, 30, 86400),
    refreshTokenTtlSec: int(env, "REFRESH_TOKEN_TTL", 30 * 86400, 60, 365 * 86400),
    refreshReuseGraceSec: int(env, "REFRESH_REUSE_GRACE", 10, 0, 300),
    authServiceUrl: url(env, "AUTH_SERVICE_URL"),
    authServiceLinkByEmail: bool(env, "AUTH_SERVICE_LINK_BY_EMAIL", false),
    loginMaxFailures: int(env, "LOGIN_MAX_FAILURES", 10, 1, 10000),
    loginAccountMaxFailures: int(env, "LOGIN_ACCOUNT_MAX_FAILURES", 100, 1, 100000),
    loginWindowSec: int(env, "LOGIN_WINDOW", 15 * 60, 1, 86400),
    trustProxy: bool(env, "TRUST_PROXY", false),
    acceptTestKeys: bool(env, "ACCEPT_TEST_KEYS", true),
    shutdownGraceMs: int(env, "SHUTDOWN_GRACE", 10, 0, 600) * 1000,
    issuer: str(env, "JWT_ISSUER") ?? "chatgate",
    streamTokenRatePerMin: int(env, "STREAM_TOKEN_RATE", 30, 1, 100000),
    heartbeatMs: int(env, "SSE_HEARTBEAT_MS", 15000, 10, 600000),
    reservationTimeoutSec: int(env, "RESERVATION_TIMEOUT", 600, 5, 86400),
    messageTransport: transport,
    messageWebhookUrl: webhookUrl,
    messageWebhookSecret: webhookSecret,
    messageMaxAttempts: int(env, "MESSAGE_MAX_ATTEMPTS", 5, 1, 100),
    messagePollMs: int(env, "MESSAGE_POLL_MS", 1000, 10, 600000),
    messageRetryBaseMs: int(env, "MESSAGE_RETRY_BASE_MS", 5000, 1, 3600000),
    messageSendTimeoutMs: int(env, "MESSAGE_SEND_TIMEOUT_MS", 10000, 100, 120000),
    maxRecipients: int(env, "MAX_RECIPIENTS", 1000, 1, 100000),
    webhookAllowHttp: bool(env, "WEBHOOK_ALLOW_HTTP", false),
    webhookAllowPrivate: bool(env, "WEBHOOK_ALLOW_PRIVATE", false),
    metricsToken,
    maxStreamsPerUser: int(env, "MAX_STREAMS_PER_USER", 10, 1, 10000),
    keyRollGraceSec: int(env, "KEY_ROLL_GRACE", 86400, 0, MAX_KEY_ROLL_GRACE_SEC),
    auditRetentionDays: int(env, "AUDIT_RETENTION_DAYS", 365, 1, 36500),
    usageRetentionDays: int(env, "USAGE_RETENTION_DAYS", 90, 1, 36500),
    usageFlushMs: int(env, "USAGE_FLUSH_MS", 5000, 10, 3_600_000),
    tlsCertFile,
    tlsKeyFile,
    httpRedirectPort,
    hstsMaxAge: int(env, "HSTS_MAX_AGE", 31536000, 0, 10 * 31536000),
    rateLimitUser: quota(env, "RATE_LIMIT_USER"),
    rateLimitAddress: quota(env, "RATE_LIMIT_ADDRESS"),
    rateLimitPredictCost: int(env, "RATE_LIMIT_PREDICT_COST", 10, 1, 1_000_000),
  };
}
