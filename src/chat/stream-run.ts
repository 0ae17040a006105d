// Runs an open prediction as a text/event-stream response. The engine reads Flowise (SSE or, when
// Flowise ignored `streaming`, JSON), keeps the assembled answer, sends heartbeats while Flowise is
// silent, and always ends the stream; an encoder decides what the client sees (the predict relay or
// the brain frames). Clean-up runs in `finally`, which the client going away also reaches.
import { errorSummary } from "../http/logger";
import { finishPrediction, type ChatDeps, type OpenPrediction, type Outcome } from "./pipeline";
import { FrameSplitter, HEARTBEAT, parseFrame, SSE_HEADERS, type FlowiseEvent } from "./sse";
import { answerText, UPSTREAM_MESSAGES } from "./upstream";

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

export interface StreamHooks {
  /** After the answer is stored and the reservation settled or refunded. */
  done?(o: Outcome, s: StreamState, charged: boolean): Promise<void>;
}

const TOKEN_EVENTS = new Set(["start", "token"]);
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

  const write = (chunks: Uint8Array[]) => {
    if (clientGone || chunks.length === 0) return;
    try {
      for (const c of chunks) out.enqueue(c);
    } catch {
      clientGone = true;
    }
    armHeartbeat();
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
  const onToken = () => {
    if (s.started) return;
    s.started = true;
    p.markStarted();
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
          write(enc.frame(raw, e, s));
          if (e && TOKEN_EVENTS.has(e.event)) onToken();
        }
        if (splitter.rest().length > MAX_PENDING_BYTES) write([splitter.take()]);
      }
      if (!s.ended && splitter.rest().length > 0) write([splitter.rest()]);
      write(enc.close(s));
      if (s.error !== undefined) return { status: "error", text: s.text, started: s.started, result: "upstream_error", metadata: { error: s.error } };
      return { status: "complete", text: s.text, started: s.started, result: "ok" };
    } catch {
      if (gone()) return { status: "incomplete", text: s.text, started: s.started, result: s.started ? "incomplete" : "aborted" };
      const message = shuttingDown ? UPSTREAM_MESSAGES.shutdown : idleTimedOut ? UPSTREAM_MESSAGES.timeout : UPSTREAM_MESSAGES.lost;
      write(enc.failure(message, s));
      return { status: "incomplete", text: s.text, started: s.started, result: idleTimedOut ? "upstream_timeout" : "upstream_error", metadata: { error: message } };
    } finally {
      clearTimeout(idle);
      reader.cancel().catch(() => {});
    }
  }

  function fromJson(body: Record<string, unknown>): Outcome {
    s.text = answerText(body);
    if (Array.isArray(body.sourceDocuments)) s.sources = body.sourceDocuments;
    s.started = true;
    s.ended = true;
    p.markStarted();
    write(enc.json(body, s));
    return { status: "complete", text: s.text, started: true, result: "ok" };
  }

  async function run(): Promise<void> {
    let outcome: Outcome = { status: "incomplete", text: "", started: false, result: "internal" };
    deps.streamsOpen?.inc();
    try {
      armHeartbeat();
      const answer = p.upstream.answer;
      outcome = answer.kind === "json" ? fromJson(answer.body) : await relay(answer.body);
    } catch (err) {
      deps.log.error("stream relay failed", { session_id: p.session.id, error: errorSummary(err) });
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
      const { charged } = await finishPrediction(deps, p, outcome);
      await hooks.done?.(outcome, s, charged).catch((err) => deps.log.error("stream completion hook failed", { error: errorSummary(err) }));
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
