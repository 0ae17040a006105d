// The prediction pipeline shared by POST /api/v1/chat/predict and the brain question stream:
// access (cached) → one statement (reservation, session, question) → upstream call, then one
// `finishPrediction` statement that stores the answer and settles or refunds. Every failure
// before an answer refunds.
import type { Config } from "../config";
import type { DB } from "../db/client";
import type { ChatSession } from "./schema";
import type { Chatflow } from "../chatflows/schema";
import type { Credits, Reservation } from "../credits/service";
import { AppError } from "../http/errors";
import { errorSummary, type Logger } from "../http/logger";
import type { Counter, Gauge } from "../http/metrics";
import type { UserState } from "../kernel/principal";
import type { UsageRecorder } from "../kernel/usage";
import { newId } from "../ids";
import type { ChatflowAccessPolicy } from "../chatflows/access";
import { callFlowise, ClientGone, type UpstreamCall } from "./upstream";
import { CHAT_ERRORS } from "./errors";
import { beginPrediction, endPrediction, settleOrRefund, type EndInput } from "./prediction-store";
import { markQuestionFailed } from "./sessions";
import type { StreamSlot, StreamSlots } from "./stream-slots";

export interface ChatDeps {
  db: DB;
  /** Reservations: one per prediction, settled or refunded when it ends. */
  credits: Credits;
  config: Config;
  log: Logger;
  /** chatgate_predictions_total{mode, result} */
  predictions: Counter;
  /** chatgate_sse_streams_open: answers being streamed to clients now. */
  streamsOpen?: Gauge;
  /** Fires when the process is about to stop; open streams end with an error frame. */
  shutdown?: AbortSignal;
  /** Open SSE streams per user (MAX_STREAMS_PER_USER). */
  streams: StreamSlots;
  /** Who may ask which chatflow (the chatflows feature's cached policy). */
  access: ChatflowAccessPolicy;
  /** Predictions, failed ones and credits spent, per user, key and chatflow (usage rollups). */
  usage: UsageRecorder;
}

export type Mode = "json" | "sse";

/**
 * Bun closes a connection that stays idle for the server's idleTimeout (60 s in src/index.ts) even
 * while the handler works — seen for GETs; Bun 1.4 happens not to apply it once a POST body was
 * read, which is not a documented promise. A prediction may rightly wait FLOWISE_TIMEOUT for
 * Flowise's first byte, so its request gets that long plus a margin; beyond Bun's 255 s maximum,
 * no limit (chatgate's own first-byte, idle and heartbeat timers still end or feed every call).
 */
export function allowUpstreamWait(server: { timeout(request: Request, seconds: number): void } | null, request: Request, config: Config): void {
  const seconds = Math.ceil(config.flowiseTimeoutMs / 1000) + 10;
  server?.timeout(request, seconds > 255 ? 0 : seconds);
}

/** The chatflow the user may use, and Flowise configured to run it (404/403, then 503). */
export async function resolveChatflow(deps: ChatDeps, user: UserState, chatflowId: string): Promise<Chatflow> {
  const access = await deps.access.forUser(user, chatflowId);
  if (!access.ok) throw access.error();
  if (!deps.config.flowiseUrl) throw CHAT_ERRORS.FLOWISE_UNCONFIGURED();
  return access.chatflow;
}

export interface PredictionRequest {
  user: UserState;
  chatflow: Chatflow;
  question: string;
  overrideConfig?: Record<string, unknown>;
  sessionId?: string;
  streaming: boolean;
  mode: Mode;
  /** The client's request signal: its going away aborts the upstream call. */
  clientSignal?: AbortSignal;
  /** For the stream's end-of-stream log line. */
  requestId?: string;
  /** The API key behind the caller's credential, if any (usage per key). */
  keyId?: string;
}

export interface OpenPrediction {
  request: PredictionRequest;
  session: ChatSession;
  reservation: Reservation;
  question: { id: string; createdAt: Date };
  /** Fixed up front so every brain frame can name the answer it belongs to. */
  answerId: string;
  upstream: UpstreamCall;
  /**
   * Records, once, that answer content is about to reach the client (a failure is logged, not
   * thrown); the reservation's settle waits for it.
   */
  markStarted(): Promise<void>;
}

export async function openPrediction(deps: ChatDeps, req: PredictionRequest): Promise<OpenPrediction> {
  const { db, config } = deps;
  // One statement before Flowise hears of anything: credits, the session (a caller-named one must
  // be theirs) and the question. The upstream call is not started alongside it: Flowise keeps
  // generating after a disconnect, so a call aborted because the reservation failed would still
  // cost the model's tokens, unpaid, at the will of a user without credits.
  let begun: Awaited<ReturnType<typeof beginPrediction>>;
  try {
    begun = await beginPrediction(deps.credits, {
      userId: req.user.id,
      chatflowId: req.chatflow.id,
      amount: req.chatflow.cost,
      ttlSec: config.reservationTimeoutSec,
      sessionId: req.sessionId ?? crypto.randomUUID(),
      question: req.question,
    });
  } catch (err) {
    deps.predictions.inc({ mode: req.mode, result: resultOf(err) });
    countPrediction(deps, req, false);
    throw err;
  }
  if (!begun.ok) {
    deps.predictions.inc({ mode: req.mode, result: "payment_required" });
    countPrediction(deps, req, false);
    throw CHAT_ERRORS.INSUFFICIENT_CREDITS();
  }
  const { reservation, session, question } = begun;
  try {
    const upstream = await callFlowise(
      config,
      req.chatflow.id,
      { question: req.question, streaming: req.streaming, chatId: session.id, ...(req.overrideConfig ? { overrideConfig: req.overrideConfig } : {}) },
      req.clientSignal,
    );
    let marked: Promise<void> | undefined;
    return {
      request: req,
      session,
      reservation,
      question,
      answerId: newId("msg"),
      upstream,
      markStarted() {
        marked ??= reservation.markStarted().then(
          () => {},
          (err) => deps.log.warn("markStarted failed", { error: errorSummary(err) }),
        );
        return marked;
      },
    };
  } catch (err) {
    // No answer will follow: refunded, and the stored question must not read as an answered turn.
    const end = {
      reservation,
      sessionId: session.id,
      questionId: question.id,
      charged: false,
      refundReason: err instanceof ClientGone ? "client_gone" : "upstream_failed",
      failQuestion: true,
    };
    await endPrediction(db, end).catch((e) => {
      deps.log.error("refund failed", { reservation_id: reservation.id, error: errorSummary(e) });
    });
    const result = resultOf(err);
    deps.predictions.inc({ mode: req.mode, result });
    countPrediction(deps, req, false);
    if (err instanceof AppError && err.code !== "NOT_FOUND" && !(err instanceof ClientGone)) {
      deps.log.warn("prediction failed before an answer", { chatflow_id: req.chatflow.id, result, reason: err.message });
    }
    throw err;
  }
}

/**
 * A stream slot for the user (429 when they hold MAX_STREAMS_PER_USER), taken before any credit is
 * reserved or Flowise is called; `open` failing gives it back, else the stream's end does.
 */
export async function withStreamSlot<T>(deps: ChatDeps, user: UserState, open: (slot: StreamSlot) => Promise<T>): Promise<T> {
  let slot: StreamSlot;
  try {
    slot = deps.streams.take(user.id);
  } catch (err) {
    deps.predictions.inc({ mode: "sse", result: "too_many_streams" });
    throw err;
  }
  try {
    return await open(slot);
  } catch (err) {
    slot.release();
    throw err;
  }
}

/**
 * One prediction in usage: every one that reached the pipeline counts; one that ended without a
 * charge (refunded, upstream failure, too few credits) is a failed one; a charge adds its cost.
 */
function countPrediction(deps: ChatDeps, req: PredictionRequest, charged: boolean): void {
  const { usage } = deps;
  const [user, key, chatflow] = [req.user.id, req.keyId ?? "", req.chatflow.id];
  usage.add("predictions", user, key, chatflow);
  if (charged) usage.add("creditsSpent", user, key, chatflow, req.chatflow.cost);
  else usage.add("failedPredictions", user, key, chatflow);
}

/** A metrics label for a failure: the AppError code in lower case, or `aborted`. */
export function resultOf(err: unknown): string {
  if (err instanceof ClientGone) return "aborted";
  if (err instanceof AppError) return err.code.toLowerCase();
  return "internal";
}

export interface Outcome {
  /** complete: the answer ended normally; incomplete: cut (client gone, upstream lost); error: Flowise reported one. */
  status: "complete" | "incomplete" | "error";
  text: string;
  /** Answer content (a non-empty token, or a whole non-streamed answer) was written to the client. */
  started: boolean;
  metadata?: Record<string, unknown>;
  /** Metrics label. */
  result: string;
}

/**
 * Policy: an answer whose content reached the client (even in part) is charged; one whose content
 * did not is refunded — Flowise's `start ""`, heartbeats, metadata or an error frame are no answer.
 * The answer is stored when it has text, completed, or is Flowise's error (status `error`); a
 * refunded turn that did not complete leaves its question marked `failed`.
 */
export async function finishPrediction(deps: ChatDeps, p: OpenPrediction, o: Outcome): Promise<{ charged: boolean }> {
  const { db, log } = deps;
  p.upstream.dispose();
  const charged = o.started;
  const stored = o.text !== "" || o.status === "complete" || o.status === "error";
  const end: EndInput = {
    reservation: p.reservation,
    sessionId: p.session.id,
    questionId: p.question.id,
    charged,
    refundReason: o.result === "aborted" ? "client_gone" : "upstream_failed",
    answer: stored ? { id: p.answerId, content: o.text, status: o.status, metadata: o.metadata } : undefined,
    failQuestion: !charged && o.status !== "complete",
  };
  try {
    // The reservation waits for a stream's in-flight started mark: the settle never overtakes it.
    await endPrediction(db, end);
  } catch (err) {
    // One statement means one failure for all: the answer (say, text Postgres refuses) must not
    // cost the settlement, so that goes alone. Else the reconciler settles or refunds it on expiry.
    log.error("storing the answer failed", { session_id: p.session.id, error: errorSummary(err) });
    try {
      await settleOrRefund(end);
      if (end.failQuestion) await markQuestionFailed(db, p.question.id);
    } catch (e) {
      log.error("settling the reservation failed", { reservation_id: p.reservation.id, error: errorSummary(e) });
    }
  }
  deps.predictions.inc({ mode: p.request.mode, result: o.result });
  countPrediction(deps, p.request, charged);
  return { charged };
}
