// The Flowise prediction client. Every way the call can fail before an answer becomes an AppError
// with the status the issue fixes (503 unreachable, 504 no first byte in time, 502 anything else),
// and never carries the Flowise key.
import type { Config } from "../config";
import { AppError } from "../http/errors";
import { tracedFetch } from "../ops/tracing";

export interface FlowiseBody {
  question: string;
  streaming: boolean;
  chatId: string;
  overrideConfig?: Record<string, unknown>;
}

export type UpstreamAnswer =
  | { kind: "json"; body: Record<string, unknown> }
  | { kind: "sse"; body: ReadableStream<Uint8Array> };

/** An open upstream call; `abort()` cuts it at once (client gone, idle timeout). */
export interface UpstreamCall {
  answer: UpstreamAnswer;
  readonly signal: AbortSignal;
  abort(reason?: string): void;
  /** Drops the client-signal listener once the call is over. */
  dispose(): void;
}

/**
 * The client went away while chatgate was still waiting for Flowise. An AppError, so the global
 * handler treats it as the client's doing (no error log); nobody is left to read the answer.
 */
export class ClientGone extends AppError {
  constructor() {
    super("BAD_REQUEST", "Client closed the request");
  }
}

const UNREACHABLE = new Set(["ECONNREFUSED", "ConnectionRefused", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "FailedToOpenSocket"]);

export const UPSTREAM_MESSAGES = {
  unreachable: "Flowise is unreachable",
  timeout: "Flowise did not answer in time",
  keyRefused: "Flowise refused chatgate's API key",
  busy: "Flowise is rate limiting requests; retry later",
  garbage: "Flowise answered something other than JSON or an event stream",
  badJson: "Flowise answered invalid JSON",
  lost: "The connection to Flowise was lost",
  shutdown: "chatgate is restarting; retry the question",
  unconfigured: "Flowise is not configured (FLOWISE_URL is unset)",
} as const;

export async function callFlowise(config: Config, chatflowId: string, body: FlowiseBody, clientSignal?: AbortSignal): Promise<UpstreamCall> {
  if (!config.flowiseUrl) throw new AppError("UNAVAILABLE", UPSTREAM_MESSAGES.unconfigured);
  const controller = new AbortController();
  let timedOut = false;
  const onClientGone = () => controller.abort(new ClientGone());
  if (clientSignal?.aborted) throw new ClientGone();
  clientSignal?.addEventListener("abort", onClientGone, { once: true });
  const dispose = () => clientSignal?.removeEventListener("abort", onClientGone);
  // Armed until the answer's first byte (SSE) or its whole body (JSON): no answer in time → 504.
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, config.flowiseTimeoutMs);
  const fail = (err: unknown): never => {
    clearTimeout(timer);
    dispose();
    if (timedOut) throw new AppError("UPSTREAM_TIMEOUT", UPSTREAM_MESSAGES.timeout);
    if (clientSignal?.aborted) throw new ClientGone();
    if (err instanceof AppError) throw err;
    const code = (err as { code?: string })?.code;
    if (code && UNREACHABLE.has(code)) throw new AppError("UNAVAILABLE", UPSTREAM_MESSAGES.unreachable);
    throw new AppError("UPSTREAM_ERROR", UPSTREAM_MESSAGES.lost);
  };

  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: body.streaming ? "text/event-stream, application/json" : "application/json",
  };
  if (config.flowiseApiKey) headers.authorization = `Bearer ${config.flowiseApiKey}`;
  let res: Response;
  try {
    res = await tracedFetch("POST flowise prediction", `${config.flowiseUrl}/api/v1/prediction/${encodeURIComponent(chatflowId)}`, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal: controller.signal,
      redirect: "manual",
    });
  } catch (err) {
    return fail(err);
  }
  const call = (answer: UpstreamAnswer): UpstreamCall => ({
    answer,
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    dispose,
  });
  try {
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      if (res.status === 429) {
        // Flowise limits chatgate as a whole, not this caller: a temporary unavailability.
        const retry = res.headers.get("retry-after");
        throw new AppError("UNAVAILABLE", UPSTREAM_MESSAGES.busy, retry && /^\d{1,6}$/.test(retry) ? { "Retry-After": retry } : {});
      }
      if (res.status === 401 || res.status === 403) throw new AppError("UPSTREAM_ERROR", `${UPSTREAM_MESSAGES.keyRefused} (HTTP ${res.status})`);
      throw new AppError("UPSTREAM_ERROR", `Flowise answered HTTP ${res.status}`);
    }
    const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type === "text/event-stream" && body.streaming && res.body) {
      clearTimeout(timer);
      return call({ kind: "sse", body: res.body });
    }
    if (type !== "application/json") {
      await res.body?.cancel().catch(() => {});
      throw new AppError("UPSTREAM_ERROR", UPSTREAM_MESSAGES.garbage);
    }
    const text = await res.text();
    clearTimeout(timer);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new AppError("UPSTREAM_ERROR", UPSTREAM_MESSAGES.badJson);
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new AppError("UPSTREAM_ERROR", UPSTREAM_MESSAGES.badJson);
    return call({ kind: "json", body: parsed as Record<string, unknown> });
  } catch (err) {
    return fail(err);
  }
}

/** The answer text of a Flowise JSON answer (`text`, or `json` for structured-output flows). */
export function answerText(body: Record<string, unknown>): string {
  if (typeof body.text === "string") return body.text;
  if (body.json !== undefined) return JSON.stringify(body.json);
  return "";
}
