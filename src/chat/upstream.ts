// The Flowise prediction client. Every way the call can fail before an answer becomes an AppError
// with the status the issue fixes (503 unreachable, 504 no first byte in time, 502 anything else),
// and never carries the Flowise key.
import type { Config } from "../config";
import { AppError } from "../http/errors";
import { tracedFetch } from "../ops/tracing";
import { CHAT_ERRORS } from "./errors";

export interface FlowiseBody {
  question: string;
  streaming: boolean;
  chatId: string;
  overrideConfig?: Record<string, unknown>;
}

export type UpstreamAnswer = { kind: "json"; body: Record<string, unknown> } | { kind: "sse"; body: ReadableStream<Uint8Array> };

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
    super(CHAT_ERRORS.CLIENT_GONE.status, CHAT_ERRORS.CLIENT_GONE.message);
  }
}

const UNREACHABLE = new Set(["ECONNREFUSED", "ConnectionRefused", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "FailedToOpenSocket"]);

export async function callFlowise(config: Config, chatflowId: string, body: FlowiseBody, clientSignal?: AbortSignal): Promise<UpstreamCall> {
  if (!config.flowiseUrl) throw CHAT_ERRORS.FLOWISE_UNCONFIGURED();
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
    if (timedOut) throw CHAT_ERRORS.FLOWISE_TIMEOUT();
    if (clientSignal?.aborted) throw new ClientGone();
    if (err instanceof AppError) throw err;
    const code = (err as { code?: string })?.code;
    if (code && UNREACHABLE.has(code)) throw CHAT_ERRORS.FLOWISE_UNREACHABLE();
    throw CHAT_ERRORS.FLOWISE_LOST();
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
        throw CHAT_ERRORS.FLOWISE_BUSY.withHeaders(retry && /^\d{1,6}$/.test(retry) ? { "Retry-After": retry } : {});
      }
      if (res.status === 401 || res.status === 403) throw CHAT_ERRORS.FLOWISE_KEY_REFUSED(res.status);
      throw CHAT_ERRORS.FLOWISE_FAILED(res.status);
    }
    const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type === "text/event-stream" && body.streaming && res.body) {
      clearTimeout(timer);
      return call({ kind: "sse", body: res.body });
    }
    if (type !== "application/json") {
      await res.body?.cancel().catch(() => {});
      throw CHAT_ERRORS.FLOWISE_GARBAGE();
    }
    const text = await res.text();
    clearTimeout(timer);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw CHAT_ERRORS.FLOWISE_BAD_JSON();
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw CHAT_ERRORS.FLOWISE_BAD_JSON();
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
