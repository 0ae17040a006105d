// Runs an open prediction as a text/event-stream response. The relay reads Flowise (SSE or, when
// Flowise ignored `streaming`, JSON), keeps the assembled answer, sends heartbeats while Flowise is
// silent, and always ends the stream; an encoder decides what the client sees (the predict relay or
// the brain frames). Its states and their only moves are in relay-states.ts; `to()` is where each
// move does its work (closing the client stream, storing and settling or refunding, the log line).
import { errorSummary } from "../http/logger";
import { finishPrediction, type ChatDeps, type OpenPrediction, type Outcome } from "./pipeline";
import { absorb, carriesAnswer, logReason, type StreamEncoder, type StreamState } from "./relay-frames";
import { nextState, type RelayEvent, type RelayState } from "./relay-states";
import { FrameSplitter, HEARTBEAT, parseFrame, SSE_HEADERS } from "./sse";
import type { StreamSlot } from "./stream-slots";
import { answerText } from "./upstream";
import { CHAT_ERRORS } from "./errors";

export type { StreamEncoder, StreamState } from "./relay-frames";

/** How a stream ended, as its end-of-stream log line says. */
export type StreamOutcome = "complete" | "upstream_error" | "upstream_lost" | "upstream_timeout" | "client_gone" | "shutdown" | "internal";

export interface StreamHooks {
  /** After the answer is stored and the reservation settled or refunded. */
  done?(o: Outcome, s: StreamState, charged: boolean): Promise<void>;
  /** The user's stream slot, released when everything above has run. */
  slot?: StreamSlot;
}

// A "frame" this long without a blank line is not Flowise's: pass its bytes on rather than hold them.
const MAX_PENDING_BYTES = 1 << 20;
// Bytes queued for a slow client before chatgate stops reading Flowise (TCP then slows Flowise).
const CLIENT_QUEUE_BYTES = 64 * 1024;

/** How the upstream part ended: the prediction's outcome (without `started`, which the state says) and the log line's. */
interface Ending {
  outcome: Omit<Outcome, "started">;
  log: { outcome: StreamOutcome; reason?: string };
}

export function streamPrediction(deps: ChatDeps, p: OpenPrediction, enc: StreamEncoder, hooks: StreamHooks = {}): Response {
  return new StreamRelay(deps, p, enc, hooks).response();
}

class StreamRelay {
  private state: RelayState = "waiting";
  private readonly s: StreamState = { text: "", sources: [], metadata: {}, started: false, ended: false };
  private out!: ReadableStreamDefaultController<Uint8Array>;
  /** The client's stream is closed or refused a write (the request signal may say so first: `gone()`). */
  private clientGone = false;
  // Why the upstream read was aborted, for the message and the log line.
  private idleTimedOut = false;
  private shuttingDown = false;
  private heartbeat?: ReturnType<typeof setTimeout>;
  private idle?: ReturnType<typeof setTimeout>;
  private drained?: () => void;
  private readonly tally = { frames: 0, heartbeats: 0, bytes: 0 };
  private readonly t0 = performance.now();
  private ending?: Ending;
  private outcome?: Outcome;

  constructor(
    private readonly deps: ChatDeps,
    private readonly p: OpenPrediction,
    private readonly enc: StreamEncoder,
    private readonly hooks: StreamHooks,
  ) {}

  response(): Response {
    const { p, deps } = this;
    p.request.clientSignal?.addEventListener("abort", this.wakeWriter, { once: true });
    if (deps.shutdown?.aborted) queueMicrotask(this.onShutdown);
    else deps.shutdown?.addEventListener("abort", this.onShutdown, { once: true });
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.out = controller;
          void this.run();
        },
        pull: this.wakeWriter,
        cancel: this.onClientCancel,
      },
      new ByteLengthQueuingStrategy({ highWaterMark: CLIENT_QUEUE_BYTES }),
    );
    return new Response(stream, { status: 200, headers: SSE_HEADERS });
  }

  /**
   * The one place the state changes, with what each move does; the table (relay-states.ts) refuses
   * any other move, so `end` and what follows it run once.
   */
  private async to(event: RelayEvent, ending?: Ending): Promise<void> {
    this.state = nextState(this.state, event);
    switch (this.state) {
      case "waiting":
        return;
      case "relaying":
        // From here the stream is charged however it ends.
        this.s.started = true;
        return;
      case "answered":
      case "unanswered":
        this.ending = ending;
        return this.close();
      case "settled":
      case "refunded":
        return this.finished(this.state === "settled");
    }
  }

  // ── inputs that end the upstream read: client abort, shutdown, upstream silence ────────────────
  private readonly onClientCancel = () => {
    this.clientGone = true;
    clearTimeout(this.heartbeat);
    this.p.upstream.abort("client gone");
    this.wakeWriter();
  };

  // The process is stopping: end this stream now, as an upstream failure after the start, so the
  // client gets an error frame and `end` instead of a cut connection.
  private readonly onShutdown = () => {
    this.shuttingDown = true;
    this.p.upstream.abort("shutdown");
    this.wakeWriter();
  };

  // Flowise silent longer than FLOWISE_TIMEOUT mid-stream is a failure, not an endless wait.
  private armIdle(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      this.idleTimedOut = true;
      this.p.upstream.abort("idle");
    }, this.deps.config.flowiseTimeoutMs);
  }

  private armHeartbeat(): void {
    clearTimeout(this.heartbeat);
    if (!this.clientGone) this.heartbeat = setTimeout(() => this.write([HEARTBEAT]), this.deps.config.heartbeatMs);
  }

  // ── writing to the client ────────────────────────────────────────────────────────────────────────
  // The request signal can fire before the stream's cancel(): both mean the client left.
  private gone(): boolean {
    return this.clientGone || this.p.request.clientSignal?.aborted === true;
  }

  private readonly wakeWriter = () => {
    const w = this.drained;
    this.drained = undefined;
    w?.();
  };

  private async roomToWrite(): Promise<void> {
    while (!this.gone() && (this.out.desiredSize ?? 1) <= 0) await new Promise<void>((r) => (this.drained = r));
  }

  /** True when the chunks were handed to the client's stream (it had not gone). */
  private write(chunks: Uint8Array[]): boolean {
    if (this.clientGone || chunks.length === 0) return false;
    try {
      for (const c of chunks) {
        this.out.enqueue(c);
        if (c === HEARTBEAT) this.tally.heartbeats++;
        else this.tally.frames++;
        this.tally.bytes += c.byteLength;
      }
    } catch {
      this.clientGone = true;
      return false;
    }
    this.armHeartbeat();
    return !this.gone();
  }

  /**
   * Answer content goes out: the reconciler settles a dead instance's reservation only when it is
   * marked started, so the mark is committed first (one round trip, once per answer); the stream
   * is charged only once the content was actually handed to the client (`content`).
   */
  private async writeContent(frames: () => Uint8Array[]): Promise<boolean> {
    if (this.state === "waiting") await this.p.markStarted();
    if (!this.write(frames())) return false;
    await this.to("content");
    return true;
  }

  // ── reading Flowise ──────────────────────────────────────────────────────────────────────────────
  private async run(): Promise<void> {
    this.deps.streamsOpen?.inc();
    let ending: Ending;
    try {
      this.armHeartbeat();
      const answer = this.p.upstream.answer;
      ending = answer.kind === "json" ? await this.fromJson(answer.body) : await this.relay(answer.body);
    } catch (err) {
      this.deps.log.error("stream relay failed", { session_id: this.p.session.id, error: errorSummary(err) });
      this.write(this.enc.failure("Internal error", this.s));
      ending = { outcome: { status: "incomplete", text: this.s.text, result: "internal" }, log: { outcome: "internal", reason: "Internal error" } };
    }
    await this.to("end", ending);
  }

  private async relay(body: ReadableStream<Uint8Array>): Promise<Ending> {
    const { s, enc } = this;
    const reader = body.getReader();
    const splitter = new FrameSplitter();
    try {
      this.armIdle();
      while (!s.ended) {
        if ((this.out.desiredSize ?? 1) <= 0) {
          // Waiting on the client is not Flowise being silent.
          clearTimeout(this.idle);
          await this.roomToWrite();
          this.armIdle();
        }
        const { done, value } = await reader.read();
        if (done) break;
        this.armIdle();
        for (const raw of splitter.push(value)) {
          const e = parseFrame(raw);
          if (e) absorb(s, e);
          if (carriesAnswer(e)) await this.writeContent(() => enc.frame(raw, e, s));
          else this.write(enc.frame(raw, e, s));
        }
        if (splitter.rest().length > MAX_PENDING_BYTES) this.write([splitter.take()]);
      }
      if (!s.ended && splitter.rest().length > 0) this.write([splitter.rest()]);
      this.write(enc.close(s));
      if (s.error !== undefined) {
        return {
          outcome: { status: "error", text: s.text, result: "upstream_error", metadata: { error: s.error } },
          log: { outcome: "upstream_error", reason: logReason(s.error) },
        };
      }
      if (this.gone()) return this.clientLeft();
      return { outcome: { status: "complete", text: s.text, result: "ok" }, log: { outcome: "complete" } };
    } catch {
      if (this.gone()) return this.clientLeft();
      const message = (this.shuttingDown ? CHAT_ERRORS.RESTARTING : this.idleTimedOut ? CHAT_ERRORS.FLOWISE_TIMEOUT : CHAT_ERRORS.FLOWISE_LOST).message;
      this.write(enc.failure(message, s));
      return {
        outcome: { status: "incomplete", text: s.text, result: this.idleTimedOut ? "upstream_timeout" : "upstream_error", metadata: { error: message } },
        log: { outcome: this.shuttingDown ? "shutdown" : this.idleTimedOut ? "upstream_timeout" : "upstream_lost", reason: message },
      };
    } finally {
      clearTimeout(this.idle);
      reader.cancel().catch(() => {});
    }
  }

  private clientLeft(): Ending {
    return {
      outcome: { status: "incomplete", text: this.s.text, result: this.s.started ? "incomplete" : "aborted" },
      log: { outcome: "client_gone", reason: "the client closed the connection" },
    };
  }

  private async fromJson(body: Record<string, unknown>): Promise<Ending> {
    const { s } = this;
    s.text = answerText(body);
    if (Array.isArray(body.sourceDocuments)) s.sources = body.sourceDocuments;
    s.ended = true;
    // A non-streamed answer is content as a whole, charged once it was handed to the client.
    if (!(await this.writeContent(() => this.enc.json(body, s)))) return this.clientLeft();
    return { outcome: { status: "complete", text: s.text, result: "ok" }, log: { outcome: "complete" } };
  }

  // ── ending ───────────────────────────────────────────────────────────────────────────────────────
  /** answered | unanswered: close the client stream, then store the answer and settle or refund. */
  private async close(): Promise<void> {
    const { deps, p } = this;
    deps.streamsOpen?.dec();
    clearTimeout(this.heartbeat);
    deps.shutdown?.removeEventListener("abort", this.onShutdown);
    if (!this.clientGone) {
      this.clientGone = true;
      try {
        this.out.close();
      } catch {
        // already closed by the client
      }
    }
    try {
      this.outcome = { ...this.ending!.outcome, started: this.state === "answered" };
      // Charges exactly when the state is `answered` (Outcome.started), so the move below is legal.
      const { charged } = await finishPrediction(deps, p, this.outcome);
      await this.to(charged ? "charge" : "refund");
    } finally {
      this.hooks.slot?.release();
    }
  }

  /** settled | refunded: the end-of-stream log line and the caller's completion hook. */
  private async finished(charged: boolean): Promise<void> {
    const { deps, p } = this;
    const log = this.ending!.log;
    deps.log.info("stream end", {
      request_id: p.request.requestId,
      session_id: p.session.id,
      chatflow_id: p.request.chatflow.id,
      mode: p.request.mode,
      outcome: log.outcome,
      ...(log.reason ? { reason: log.reason } : {}),
      frames: this.tally.frames,
      heartbeats: this.tally.heartbeats,
      bytes: this.tally.bytes,
      duration_ms: Math.round(performance.now() - this.t0),
      charged,
    });
    await this.hooks.done?.(this.outcome!, this.s, charged).catch((err) => deps.log.error("stream completion hook failed", { error: errorSummary(err) }));
  }
}
