import type { LogLevel } from "../config";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

// Field names whose values never reach a log line, whatever a caller passes.
const SECRET_FIELD = /pass|secret|token|key|authorization|cookie/i;

export interface Logger {
  /** Lets hot paths skip building fields for a line that would be dropped. */
  enabled(level: LogLevel): boolean;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export type LogSink = (line: string) => void;

const stdoutSink: LogSink = (line) => process.stdout.write(`${line}\n`);

export function createLogger(level: LogLevel, sink: LogSink = stdoutSink): Logger {
  const min = ORDER[level];
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, msg };
    if (fields) {
      for (const [k, v] of Object.entries(fields)) entry[k] = SECRET_FIELD.test(k) ? "[redacted]" : v;
    }
    sink(JSON.stringify(entry));
  };
  return {
    enabled: (lvl) => ORDER[lvl] >= min,
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

/**
 * What a log line may say about an error: its name, the driver's code and message, bounded.
 * Drizzle wraps driver errors as "Failed query: <sql> params: <values>", and the values can be
 * users' questions or hashes, so for those only the underlying cause is described.
 */
export function errorSummary(err: unknown): string {
  let e = err as { name?: string; message?: string; code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && typeof e.message === "string" && e.message.startsWith("Failed query:") && depth < 3; depth++) {
    e = e.cause as typeof e;
  }
  if (!e || typeof e !== "object") return String(err).slice(0, 200);
  const code = typeof e.code === "string" || typeof e.code === "number" ? ` [${e.code}]` : "";
  const message = typeof e.message === "string" ? e.message.split("\n")[0]!.replace(/https?:\/\/\S+/g, "<url>") : "";
  return `${e.name ?? "Error"}${code}: ${message}`.slice(0, 300);
}
