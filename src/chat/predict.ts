// POST /api/v1/chat/predict: JSON or a byte-exact relay of Flowise's event stream.
import { isIdempotencyKey, withIdempotency, type IdempotencyClaim } from "../idempotency/with-idempotency";
import type { Chatflow } from "../chatflows/schema";
import { CHAT_ERRORS } from "./errors";
import type { UserState } from "../kernel/principal";
import { finishPrediction, openPrediction, resolveChatflow, withStreamSlot, type ChatDeps, type OpenPrediction } from "./pipeline";
import { flowiseFrame, SSE_HEADERS } from "./sse";
import { streamPrediction, type StreamEncoder, type StreamState } from "./stream-run";
import { answerText } from "./upstream";
import type { PredictBody } from "./model";

export interface PredictCall {
  user: UserState;
  body: PredictBody;
  /** `streaming: true` in the body or `Accept: text/event-stream`. */
  stream: boolean;
  idempotencyKey?: string;
  signal?: AbortSignal;
  requestId?: string;
}

/** Only the overrideConfig keys allowed (the chatflow's list, else FLOWISE_OVERRIDE_ALLOW) reach Flowise. */
export function checkOverrides(allow: string[], override: Record<string, unknown> | undefined): void {
  if (!override) return;
  const refused = Object.keys(override).filter((k) => !allow.includes(k));
  if (refused.length > 0) throw CHAT_ERRORS.OVERRIDE_REFUSED(refused.slice(0, 10).join(", "));
}

/** The session_id frame, in Flowise's own form, that chatgate puts before `end`. */
const sessionFrame = (sessionId: string) => flowiseFrame("session_id", sessionId);

/** Flowise's non-streaming answer turned into the frames a stream of it would have had. */
function jsonAsFrames(body: Record<string, unknown>, sessionId: string): Uint8Array[] {
  const text = answerText(body);
  // Flowise's own `start` carries "" (3.1.2); the text goes once, in `token`, as Flowise streams it.
  const frames = [flowiseFrame("start", ""), flowiseFrame("token", text)];
  if (Array.isArray(body.sourceDocuments) && body.sourceDocuments.length > 0) frames.push(flowiseFrame("sourceDocuments", body.sourceDocuments));
  const metadata: Record<string, unknown> = {};
  for (const k of ["chatId", "chatMessageId", "question", "sessionId", "memoryType"]) if (body[k]) metadata[k] = body[k];
  frames.push(flowiseFrame("metadata", metadata), sessionFrame(sessionId), flowiseFrame("end", "[DONE]"));
  return frames;
}

function relayEncoder(sessionId: string): StreamEncoder {
  return {
    frame: (raw, e) => (e?.event === "end" ? [sessionFrame(sessionId), raw] : [raw]),
    json: (body) => jsonAsFrames(body, sessionId),
    failure: (message) => [flowiseFrame("error", message), sessionFrame(sessionId), flowiseFrame("end", "[DONE]")],
    close: (s) => (s.ended ? [] : [sessionFrame(sessionId), flowiseFrame("end", "[DONE]")]),
  };
}

/** The JSON answer a streamed prediction stands for (stored for Idempotency-Key replays). */
function streamedAnswer(p: OpenPrediction, s: StreamState): Record<string, unknown> {
  const out: Record<string, unknown> = { text: s.text };
  if (s.sources.length > 0) out.sourceDocuments = s.sources;
  out.question = p.request.question;
  out.chatId = p.session.id;
  if (s.metadata.chatMessageId) out.chatMessageId = s.metadata.chatMessageId;
  out.session_id = p.session.id;
  return out;
}

function framesResponse(frames: Uint8Array[]): Response {
  return new Response(
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const f of frames) c.enqueue(f);
        c.close();
      },
    }),
    { status: 200, headers: SSE_HEADERS },
  );
}

export async function predict(deps: ChatDeps, call: PredictCall): Promise<Response | Record<string, unknown>> {
  const { db, config } = deps;
  const { user, body } = call;
  const mode = call.stream ? "sse" : "json";
  if (body.question.trim() === "") throw CHAT_ERRORS.BLANK_QUESTION();
  if (call.idempotencyKey !== undefined && !isIdempotencyKey(call.idempotencyKey)) {
    throw CHAT_ERRORS.BAD_IDEMPOTENCY_KEY();
  }
  const chatflow = await resolveChatflow(deps, user, body.chatflow_id);
  checkOverrides(chatflow.overrideAllow ?? config.flowiseOverrideAllow, body.overrideConfig);

  return withIdempotency(
    {
      db,
      scope: "chat.predict",
      userId: user.id,
      key: call.idempotencyKey,
      request: body,
      conflict: CHAT_ERRORS.IDEMPOTENCY_CONFLICT,
      inProgress: CHAT_ERRORS.IDEMPOTENCY_IN_PROGRESS,
      replay(response) {
        deps.predictions.inc({ mode, result: "replay" });
        const stored = response as Record<string, unknown>;
        return call.stream ? framesResponse(jsonAsFrames(stored, String(stored.session_id))) : stored;
      },
    },
    (claim) => run(deps, call, chatflow, claim),
  );
}

async function run(deps: ChatDeps, call: PredictCall, chatflow: Chatflow, claim: IdempotencyClaim): Promise<Response | Record<string, unknown>> {
  const { user, body } = call;
  const open = () =>
    openPrediction(deps, {
      user,
      chatflow,
      question: body.question,
      overrideConfig: body.overrideConfig,
      sessionId: body.session_id,
      streaming: call.stream,
      mode: call.stream ? "sse" : "json",
      clientSignal: call.signal,
      requestId: call.requestId,
    });
  if (call.stream) {
    return withStreamSlot(deps, user, async (slot) => {
      const p = await open();
      return streamPrediction(deps, p, relayEncoder(p.session.id), {
        slot,
        // A charged answer, even a partial one, is what a retry gets: it is never charged twice.
        done: (_o, s, charged) => (charged ? claim.complete(streamedAnswer(p, s)) : claim.release()),
      });
    });
  }
  const p = await open();
  const answer = p.upstream.answer;
  if (answer.kind !== "json") throw new Error("unreachable: a non-streaming call answered a stream");
  const result = { ...answer.body, session_id: p.session.id };
  const text = answerText(answer.body);
  if (call.signal?.aborted) {
    // The client left as the answer arrived: it will never be written, so it is not charged.
    await finishPrediction(deps, p, { status: "incomplete", text, started: false, result: "aborted" });
    await claim.release();
    return result;
  }
  // The settle statement records the start too: the answer is written only after it returns.
  await finishPrediction(deps, p, { status: "complete", text, started: true, result: "ok" });
  await claim.complete(result);
  return result;
}
