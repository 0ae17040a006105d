// Runs an open prediction as a text/event-stream response. The engine reads Flowise (SSE or, when
// Flowise ignored `streaming`, JSON), keeps the assembled answer, sends heartbeats while Flowise is
// silent, and always ends the stream; an encoder decides what the client sees (the predict relay or
// the brain frames). Clean-up runs in `finally`, which the client going away also reaches.
import { errorSummary } from "../http/logger";
import { finishPrediction, type ChatDeps, type OpenPrediction, type Outcome } from "./pipeline";
import { FrameSplitter, HEARTBEAT, parseFrame, SSE_HEADERS, type FlowiseEvent } from "./sse";
import type { StreamSlot } from "./stream-slots";
import { answerText } from "./upstream";
import { CHAT_ERRORS } from "./errors";

export interface StreamState {
  text: string;
  sources: unknown[];
  metadata: Record<string, unknown>;
  started: boolean;
  ended: boolean;
  error?: string;
}

export interface StreamEncoder {
  /** What the client gets for one upstream frame (`raw` is its exact bytes); state already includes it. */
  frame(raw: Uint8Array, event: FlowiseEvent | undefined, s: StreamState): Uint8Array[];
  /** Flowise answered JSON although streaming was asked: the whole answer as frames. */
  json(body: Record<string, unknown>, s: StreamState): Uint8Array[];
  /** A failure after the stream started. */
  failure(message: string, s: StreamState): Uint8Array[];
  /** Flowise's stream ended; called once, whether or not it sent `end`. */
  close(s: StreamState): Uint8Array[];
}

/** How a stream ended, as its end-of-stream log line says. */
export type StreamOutcome = "complete" | "upstream_error" | "upstream_lost" | "upstream_timeout" | "client_gone" | "shutdown" | "internal";

export interface StreamHooks {
  /** After the answer is stored and the reservation settled or refunded. */
  done?(o: Outcome, s: StreamState, charged: boolean): Promise<void>;
  /** The user's stream slot, released when everything above has run. */
  slot?: StreamSlot;
}

/**
 * Answer content: a `token` with text. Flowise 3.1.2 sends `start` with `""` as soon as the model's
 * stream opens (older versions put the first token in it, and send that token again as `token`),
 * so `start` alone never means the user saw anything.
 */
const carriesAnswer = (e: FlowiseEvent | undefined) => e?.event === "token" && typeof e.data === "string" && e.data !== "";
// Flowise's error text can quote a provider's error ("Incorrect API key provided: sk-..."): what
// looks like a key or token never reaches the log line.
const SECRET_LIKE = /\b(?:sk|pk|rk)[-_][\w*-]{6,}|\bBearer\s+\S+|\beyJ[\w-]+\.[\w-]+\.?[\w-]*/gi;
const logReason = (text: string) => text.replace(SECRET_LIKE, "[redacted]").slice(0, 200);
// A "frame" this long without a blank line is not Flowise's: pass its bytes on rather than hold them.
const MAX_PENDING_BYTES = 1 << 20;
// Bytes queued for a slow client before chatgate stops reading Flowise (TCP then slows Flowise).
const CLIENT_QUEUE_BYTES = 64 * 1024;

function absorb(s: StreamState, e: FlowiseEvent): void {
  // `start` carries the first token, which Flowise sends again as a `token`.
  if (e.event === "token" && typeof e.data === "string") s.text += e.data;
  else if (e.event === "sourceDocuments" && Array.isArray(e.data)) s.sources = e.data;
  else if (e.event === "metadata" && e.data && typeof e.data === "object") s.metadata = e.data as Record<string, unknown>;
  else if (e.event === "error") s.error = typeof e.data === "string" ? e.data : JSON.stringify(e.data);
  else if (e.event === "end") s.ended = true;
}

export function streamPrediction(deps: ChatDeps, p: OpenPrediction, enc: StreamEncoder, hooks: StreamHooks = {}): Response {
  const { config } = deps;
  const s: StreamState = { text: "", sources: [], metadata: {}, started: false, ended: false };
  let out!: ReadableStreamDefaultController<Uint8Array>;
  let clientGone = false;
  // The request signal can fire before the stream's cancel(): both mean the client left.
  const gone = () => clientGone || p.request.clientSignal?.aborted === true;
  let idleTimedOut = false;
  let shuttingDown = false;
  // The process is stopping: end this stream now, as an upstream failure after the start, so the
  // client gets an error frame and `end` instead of a cut connection.
  const onShutdown = () => {
    shuttingDown = true;
    p.upstream.abort("shutdown");
    wakeWriter();
  };
  let heartbeat: ReturnType<typeof setTimeout> | undefined;
  let idle: ReturnType<typeof setTimeout> | undefined;
  let drained: (() => void) | undefined;
  const wakeWriter = () => {
    const w = drained;
    drained = undefined;
    w?.();
  };
  const roomToWrite = async () => {
    while (!gone() && (out.desiredSize ?? 1) <= 0) await new Promise<void>((r) => (drained = r));
  };

  const tally = { frames: 0, heartbeats: 0, bytes: 0 };
  // How the stream ended and why, for its end-of-stream log line.
  let ending: { outcome: StreamOutcome; reason?: string } = { outcome: "internal" };
  const t0 = performance.now();
  /** True when the chunks were handed to the client's stream (it had not gone). */
  const write = (chunks: Uint8Array[]): boolean => {
    if (clientGone || chunks.length === 0) return false;
    try {
      for (const c of chunks) {
        out.enqueue(c);
        if (c === HEARTBEAT) tally.heartbeats++;
        else tally.frames++;
        tally.bytes += c.byteLength;
      }
    } catch {
      clientGone = true;
      return false;
    }
    armHeartbeat();
    return !gone();
  };
  const armHeartbeat = () => {
    clearTimeout(heartbeat);
    if (!clientGone) heartbeat = setTimeout(() => write([HEARTBEAT]), config.heartbeatMs);
  };
  // Flowise silent longer than FLOWISE_TIMEOUT mid-stream is a failure, not an endless wait.
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      idleTimedOut = true;
      p.upstream.abort("idle");
    }, config.flowiseTimeoutMs);
  };
  // The reconciler settles a dead instance's reservation only when it is marked started, so the
  // mark is committed before the first content goes out (one round trip, once per answer). Whether
  // this stream is charged is still decided by `s.started`: content actually handed to the client.
  const beforeContent = async () => {
    if (s.started) return;
    p.markStarted();
    await p.started;
  };

  async function relay(body: ReadableStream<Uint8Array>): Promise<Outcome> {
    const reader = body.getReader();
    const splitter = new FrameSplitter();
    try {
      armIdle();
      while (!s.ended) {
        if ((out.desiredSize ?? 1) <= 0) {
          // Waiting on the client is not Flowise being silent.
          clearTimeout(idle);
          await roomToWrite();
          armIdle();
        }
        const { done, value } = await reader.read();
        if (done) break;
        armIdle();
        for (const raw of splitter.push(value)) {
          const e = parseFrame(raw);
          if (e) absorb(s, e);
          const content = carriesAnswer(e);
          if (content) await beforeContent();
          if (write(enc.frame(raw, e, s)) && content) s.started = true;
        }
        if (splitter.rest().length > MAX_PENDING_BYTES) write([splitter.take()]);
      }
      if (!s.ended && splitter.rest().length > 0) write([splitter.rest()]);
      write(enc.close(s));
      if (s.error !== undefined) {
        ending = { outcome: "upstream_error", reason: logReason(s.error) };
        return { status: "error", text: s.text, started: s.started, result: "upstream_error", metadata: { error: s.error } };
      }
      if (gone()) return clientLeft();
      ending = { outcome: "complete" };
      return { status: "complete", text: s.text, started: s.started, result: "ok" };
    } catch {
      if (gone()) return clientLeft();
      const message = (shuttingDown ? CHAT_ERRORS.RESTARTING : idleTimedOut ? CHAT_ERRORS.FLOWISE_TIMEOUT : CHAT_ERRORS.FLOWISE_LOST).message;
      ending = { outcome: shuttingDown ? "shutdown" : idleTimedOut ? "upstream_timeout" : "upstream_lost", reason: message };
      write(enc.failure(message, s));
      return { status: "incomplete", text: s.text, started: s.started, result: idleTimedOut ? "upstream_timeout" : "upstream_error", metadata: { error: message } };
    } finally {
      clearTimeout(idle);
      reader.cancel().catch(() => {});
    }
  }

  function clientLeft(): Outcome {
    ending = { outcome: "client_gone", reason: "the client closed the connection" };
    return { status: "incomplete", text: s.text, started: s.started, result: s.started ? "incomplete" : "aborted" };
  }

  async function fromJson(body: Record<string, unknown>): Promise<Outcome> {
    s.text = answerText(body);
    if (Array.isArray(body.sourceDocuments)) s.sources = body.sourceDocuments;
    s.ended = true;
    // A non-streamed answer is content as a whole, charged once it was handed to the client.
    await beforeContent();
    if (!write(enc.json(body, s))) return clientLeft();
    s.started = true;
    ending = { outcome: "complete" };
    return { status: "complete", text: s.text, started: true, result: "ok" };
  }

  async function run(): Promise<void> {
    let outcome: Outcome = { status: "incomplete", text: "", started: false, result: "internal" };
    deps.streamsOpen?.inc();
    try {
      armHeartbeat();
      const answer = p.upstream.answer;
      outcome = answer.kind === "json" ? await fromJson(answer.body) : await relay(answer.body);
    } catch (err) {
      deps.log.error("stream relay failed", { session_id: p.session.id, error: errorSummary(err) });
      ending = { outcome: "internal", reason: "Internal error" };
      write(enc.failure("Internal error", s));
      outcome = { status: "incomplete", text: s.text, started: s.started, result: "internal" };
    } finally {
      deps.streamsOpen?.dec();
      clearTimeout(heartbeat);
      deps.shutdown?.removeEventListener("abort", onShutdown);
      if (!clientGone) {
        clientGone = true;
        try {
          out.close();
        } catch {
          // already closed by the client
        }
      }
      try {
        const { charged } = await finishPrediction(deps, p, outcome);
        deps.log.info("stream end", {
          request_id: p.request.requestId,
          session_id: p.session.id,
          chatflow_id: p.request.chatflow.id,
          mode: p.request.mode,
          outcome: ending.outcome,
          ...(ending.reason ? { reason: ending.reason } : {}),
          frames: tally.frames,
          heartbeats: tally.heartbeats,
          bytes: tally.bytes,
          duration_ms: Math.round(performance.now() - t0),
          charged,
        });
        await hooks.done?.(outcome, s, charged).catch((err) => deps.log.error("stream completion hook failed", { error: errorSummary(err) }));
      } finally {
        hooks.slot?.release();
      }
    }
  }

  p.request.clientSignal?.addEventListener("abort", wakeWriter, { once: true });
  if (deps.shutdown?.aborted) queueMicrotask(onShutdown);
  else deps.shutdown?.addEventListener("abort", onShutdown, { once: true });
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        out = controller;
        void run();
      },
      pull: wakeWriter,
      cancel() {
        clientGone = true;
        clearTimeout(heartbeat);
        p.upstream.abort("client gone");
        wakeWriter();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: CLIENT_QUEUE_BYTES }),
  );
  return new Response(stream, { status: 200, headers: SSE_HEADERS });
}
