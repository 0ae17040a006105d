/**
 * Flowise double: a real HTTP server on 127.0.0.1 that speaks Flowise's prediction wire format,
 * with switchable faults, for chatgate's tests and benchmarks.
 *
 * Checked against FlowiseAI/Flowise sources (packages/server/src/...):
 * - utils/SSEStreamer.ts: every frame is `'message:\ndata:' + JSON.stringify({event, data}) + '\n\n'`;
 *   end is `{event:"end", data:"[DONE]"}` written by removeClient() before res.end(); errors are
 *   `{event:"error", data:<message string>}`; metadata carries only truthy chatId, chatMessageId,
 *   question, sessionId, memoryType (followUpPrompts, flowVariables). Older revisions wrote
 *   `'message\ndata:'` (no colon) for end/error/abort: see `framing: "legacy"`. Recent revisions add
 *   startHeartbeat(30_000) writing the SSE comment `':heartbeat\n\n'` to every open client.
 * - controllers/predictions/index.ts: streaming only when `streaming === true || 'true'` AND the flow
 *   is streamable, otherwise `res.json(apiResponse)` (the jsonWhenStreaming case); SSE headers
 *   Content-Type: text/event-stream, Cache-Control: no-cache, Connection: keep-alive,
 *   X-Accel-Buffering: no, flushHeaders() before the flow runs; chatId = body.chatId ??
 *   overrideConfig.sessionId ?? uuid; unknown chatflow -> 404 "Chatflow <id> not found".
 * - utils/buildChatflow.ts: JSON answer = node result ({text, sourceDocuments?}) + question, chatId,
 *   chatMessageId, sessionId, memoryType. Bad key -> InternalFlowiseError(401, "Unauthorized").
 * - components handler (CustomChainHandler.handleLLMNewToken, 3.1.2): `start` with the first
 *   callback's token once — `""` for a chat model, whose stream opens with an empty role chunk
 *   (see StartStyle) — then a `token` per non-empty token; `sourceDocuments` at chain end.
 * - 3.1.2 controllers/predictions: nothing listens for the client closing, so the flow keeps
 *   generating after a disconnect (SSEStreamer.safeWrite writes into the closed response); an
 *   unknown chatflow throws before the headers and the error middleware sends nothing when
 *   `streaming` is set, so that request hangs until the client gives up.
 * - middlewares/errors/index.ts: error body {statusCode, success:false, message, stack:{}} (and it
 *   sends nothing when body.streaming is true; the double answers the 404 anyway).
 * - utils/rateLimit.ts: 429 is `res.status(429).send(limitMsg)` (text), via express-rate-limit.
 * - index.ts + utils/validateKey.ts: `Authorization: Bearer <key>`. Real Flowise answers
 *   `{"error":"Unauthorized Access"}` on non-whitelisted routes and `{statusCode:401,success:false,
 *   message:"Unauthorized",stack:{}}` on predictions; per the chatgate issue the double answers
 *   exactly `{"statusCode":401,"success":false,"message":"Unauthorized"}` on every route.
 * node:http (not Bun.serve) is used: res.socket.destroy() drops a stream mid-way without Bun
 * logging a stream error, and res "close" before writableFinished detects client aborts.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { type FlowiseEvent, type PredictionResult, HEARTBEAT_FRAME, errorStreamEvents, jsonAnswer, makeTokens, sseFrame, streamEvents } from "./flowise-sse.ts";

export * from "./flowise-sse.ts";
export * from "./flowise-types.ts";
import type { AnswerConfig, ChatflowDef, ChatflowFault, DoubleStats, Fault, FlowiseDouble, FlowiseDoubleOptions, RecordedRequest, Route } from "./flowise-types.ts";

export const UNAUTHORIZED_BODY = { statusCode: 401, success: false, message: "Unauthorized" } as const;
const HTML = '<!DOCTYPE html><html><head><title>Flowise</title></head><body><div id="root"></div></body></html>';
const SSE_HEADERS = { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", Connection: "keep-alive", "X-Accel-Buffering": "no" };
const sleep = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());
// A drop lands this long after the last frame: a client whose reader is still behind sees the frames
// then the error (Bun's fetch drops buffered-but-unread bytes when the reset arrives with them).
const DROP_GAP_MS = 50;
const zeroCalls = (): Record<Route, number> => ({ prediction: 0, chatflows: 0, chatflow: 0, other: 0 });
const zeroStats = (): DoubleStats => ({
  streamsStarted: 0,
  streamsCompleted: 0,
  framesWritten: 0,
  heartbeats: 0,
  drops: 0,
  framesDiscarded: 0,
  generationsFinished: 0,
  hung: 0,
});

interface Life {
  closed: boolean;
  intentional: boolean;
  res: http.ServerResponse;
}

class Double implements FlowiseDouble {
  readonly server: http.Server;
  port = 0;
  calls = zeroCalls();
  stats = zeroStats();
  requests: RecordedRequest[] = [];
  aborts = 0;
  private fault: Fault | null = null;
  private flowFaults = new Map<string, ChatflowFault>();
  private answer: AnswerConfig;
  private flowAnswers = new Map<string, AnswerConfig>();
  private lives = new Set<Life>();
  private waiters: { atLeast: number; resolve: (n: number) => void }[] = [];
  private genWaiters: { atLeast: number; resolve: (n: number) => void }[] = [];
  private stopped = false;
  private readonly chatflows: ChatflowDef[];
  private readonly created = new Date().toISOString();

  constructor(private readonly opts: FlowiseDoubleOptions) {
    this.chatflows = opts.chatflows ?? [{ id: "chatflow-1", name: "Test chatflow" }];
    this.answer = opts.answer ?? {};
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { statusCode: 500, success: false, message: String(e), stack: {} });
        else res.destroy();
      });
    });
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((ok, ko) => {
      this.server.once("error", ko);
      this.server.listen(port, "127.0.0.1", () => {
        this.server.off("error", ko);
        ok();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  private async close(): Promise<void> {
    for (const l of this.lives) l.intentional = true; // our own teardown is not a client abort
    if (!this.server.listening) return;
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections();
    await closed;
  }

  lastRequest(route?: Route) {
    for (let i = this.requests.length - 1; i >= 0; i--) if (route === undefined || this.requests[i]?.route === route) return this.requests[i];
    return undefined;
  }

  waitForAbort(timeoutMs = 2000, atLeast = 1): Promise<number> {
    if (this.aborts >= atLeast) return Promise.resolve(this.aborts);
    return new Promise((resolve, reject) => {
      const w = {
        atLeast,
        resolve: (n: number) => {
          clearTimeout(t);
          resolve(n);
        },
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no client abort within ${timeoutMs} ms (aborts=${this.aborts})`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  waitForGenerations(atLeast: number, timeoutMs = 5000): Promise<number> {
    if (this.stats.generationsFinished >= atLeast) return Promise.resolve(this.stats.generationsFinished);
    return new Promise((resolve, reject) => {
      const w = {
        atLeast,
        resolve: (n: number) => {
          clearTimeout(t);
          resolve(n);
        },
      };
      const t = setTimeout(() => {
        this.genWaiters = this.genWaiters.filter((x) => x !== w);
        reject(new Error(`fewer than ${atLeast} generations finished within ${timeoutMs} ms`));
      }, timeoutMs);
      this.genWaiters.push(w);
    });
  }

  private generationFinished() {
    const n = ++this.stats.generationsFinished;
    const ready = this.genWaiters.filter((w) => n >= w.atLeast);
    this.genWaiters = this.genWaiters.filter((w) => n < w.atLeast);
    for (const w of ready) w.resolve(n);
  }

  async setFault(fault: Fault | null, chatflowId?: string): Promise<void> {
    if (chatflowId !== undefined) {
      if (fault?.kind === "refuse") throw new Error("refuse is an instance-wide fault");
      if (fault) this.flowFaults.set(chatflowId, fault);
      else this.flowFaults.delete(chatflowId);
      return;
    }
    this.fault = fault;
    if (fault?.kind === "refuse") await this.close();
    else if (!this.server.listening) await this.listen(this.port);
  }

  setAnswer(answer: AnswerConfig, chatflowId?: string) {
    if (chatflowId === undefined) this.answer = answer;
    else this.flowAnswers.set(chatflowId, answer);
  }

  async reset(): Promise<void> {
    this.flowFaults.clear();
    this.flowAnswers.clear();
    this.answer = this.opts.answer ?? {};
    await this.setFault(null);
    this.calls = zeroCalls();
    this.stats = zeroStats();
    this.requests = [];
    this.aborts = 0;
  }

  async stop(): Promise<void> {
    this.fault = null;
    this.stopped = true;
    await this.close();
  }

  private track(res: http.ServerResponse): Life {
    const life: Life = { closed: false, intentional: false, res };
    this.lives.add(life);
    res.on("close", () => {
      life.closed = true;
      this.lives.delete(life);
      if (res.writableFinished || life.intentional) return;
      this.aborts++;
      const ready = this.waiters.filter((w) => this.aborts >= w.atLeast);
      this.waiters = this.waiters.filter((w) => this.aborts < w.atLeast);
      for (const w of ready) w.resolve(this.aborts);
    });
    return life;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const life = this.track(res);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString("utf8");
    let body: unknown;
    try {
      body = rawBody ? JSON.parse(rawBody) : undefined;
    } catch {
      body = undefined;
    }
    const path = new URL(req.url ?? "/", "http://double").pathname;
    const m = /^\/api\/v1\/predictions?\/([^/]+)\/?$/.exec(path) ?? /^\/api\/v1\/chatflows\/([^/]+)\/?$/.exec(path);
    const chatflowId = m?.[1] === undefined ? undefined : decodeURIComponent(m[1]);
    const route: Route =
      req.method === "POST" && path.includes("/prediction") && m
        ? "prediction"
        : req.method === "GET" && /^\/api\/v1\/chatflows\/?$/.test(path)
          ? "chatflows"
          : req.method === "GET" && m
            ? "chatflow"
            : "other";
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    this.requests.push({ method: req.method ?? "", path, route, chatflowId, headers, rawBody, body });
    this.calls[route]++;

    const fault: Fault | null = (route === "prediction" && chatflowId !== undefined ? this.flowFaults.get(chatflowId) : undefined) ?? this.fault;
    if (fault?.kind === "delayFirstByte") {
      await sleep(fault.ms);
      if (life.closed) return;
    }
    if (fault?.kind === "html") return send(res, 200, "text/html; charset=utf-8", HTML);
    if (fault?.kind === "status500") return sendJson(res, 500, flowiseError(500, fault.message ?? "Internal Server Error"));
    if (fault?.kind === "status429") {
      res.setHeader("Retry-After", String(fault.retryAfterSeconds ?? 1));
      return send(res, 429, "text/html; charset=utf-8", fault.message ?? "Too many requests, please try again later.");
    }
    // Flowise whitelists its ping route: no key needed.
    if (req.method === "GET" && /^\/api\/v1\/ping\/?$/.test(path)) return send(res, 200, "text/plain; charset=utf-8", "pong");
    if (headers.authorization !== `Bearer ${this.opts.apiKey}`) return sendJson(res, 401, UNAUTHORIZED_BODY);

    if (route === "chatflows")
      return sendJson(
        res,
        200,
        this.chatflows.map((c) => this.chatflowJson(c)),
      );
    const flow = this.chatflows.find((c) => c.id === chatflowId);
    if (route === "chatflow") {
      return flow ? sendJson(res, 200, this.chatflowJson(flow)) : sendJson(res, 404, flowiseError(404, `Chatflow ${chatflowId} not found in the database!`));
    }
    if (route === "other") return sendJson(res, 404, flowiseError(404, `Cannot ${req.method} ${path}`));
    if (rawBody && body === undefined) return sendJson(res, 400, flowiseError(400, "Invalid JSON body"));
    if (!flow) {
      const b = (body ?? {}) as Record<string, unknown>;
      // Flowise 3.1.2's error middleware answers nothing when streaming was asked: the request hangs.
      if (b.streaming === true || b.streaming === "true") {
        this.stats.hung++;
        return;
      }
      return sendJson(res, 404, flowiseError(404, `Chatflow ${chatflowId} not found`));
    }
    return this.predict(res, life, flow, (body ?? {}) as Record<string, unknown>, fault);
  }

  private async predict(res: http.ServerResponse, life: Life, flow: ChatflowDef, body: Record<string, unknown>, fault: Fault | null) {
    const answer = this.flowAnswers.get(flow.id) ?? this.answer;
    const override = (body.overrideConfig ?? {}) as Record<string, unknown>;
    const sessionFromOverride = typeof override.sessionId === "string" ? override.sessionId : undefined;
    const chatId = typeof body.chatId === "string" && body.chatId ? body.chatId : (sessionFromOverride ?? randomUUID());
    const result: PredictionResult = {
      tokens: answer.tokens ?? makeTokens(answer.tokenCount ?? 3),
      question: typeof body.question === "string" ? body.question : "",
      chatId,
      chatMessageId: answer.chatMessageId ?? randomUUID(),
      sessionId: sessionFromOverride ?? chatId,
      memoryType: answer.memoryType,
      sourceDocuments: answer.sourceDocuments,
    };
    const streaming = body.streaming === true || body.streaming === "true";
    const asJson = !streaming || flow.streamable === false || fault?.kind === "jsonWhenStreaming";
    if (asJson) {
      if (fault?.kind === "errorFrame") return sendJson(res, 500, flowiseError(500, fault.message ?? "Flow execution failed"));
      const text = JSON.stringify(jsonAnswer(result));
      if (fault?.kind !== "dropMidStream") return send(res, 200, "application/json; charset=utf-8", text);
      res.writeHead(200, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
      await write(res, text.slice(0, Math.floor(text.length / 2)));
      await sleep(DROP_GAP_MS);
      return this.drop(life);
    }
    const style = this.opts.start ?? "empty";
    const events: FlowiseEvent[] =
      fault?.kind === "errorFrame"
        ? errorStreamEvents(result.tokens, fault.afterTokens ?? 0, fault.message ?? "Flow execution failed", { style, afterStart: fault.afterStart })
        : streamEvents(result, style);
    const firstToken = events.findIndex((e) => e.event === "token");
    const delayMs = fault?.kind === "slowDrip" ? fault.ms : (answer.delayMs ?? 0);
    const dropAfter = fault?.kind === "dropMidStream" ? Math.min(fault.afterEvents, events.length - 1) : -1;
    res.writeHead(200, SSE_HEADERS);
    res.flushHeaders();
    this.stats.streamsStarted++;
    const hbMs = this.opts.heartbeatMs ?? 30_000;
    const hb =
      hbMs > 0
        ? setInterval(() => {
            if (!life.closed) {
              res.write(HEARTBEAT_FRAME);
              this.stats.heartbeats++;
            }
          }, hbMs)
        : undefined;
    res.once("close", () => clearInterval(hb));
    try {
      for (let i = 0; i < events.length; i++) {
        if (i > 0 || i === dropAfter) await sleep(i === dropAfter ? Math.max(delayMs, DROP_GAP_MS) : delayMs);
        if (i === firstToken && answer.firstTokenDelayMs) await sleep(answer.firstTokenDelayMs);
        if (i === dropAfter) return this.drop(life);
        if (this.stopped) return;
        // The client left: Flowise does not notice and runs the flow to its end, writing nowhere.
        if (life.closed) {
          this.stats.framesDiscarded++;
          continue;
        }
        const e = events[i] as FlowiseEvent;
        await write(res, sseFrame(e.event, e.data, this.opts.framing));
        if (life.closed) this.stats.framesDiscarded++;
        else this.stats.framesWritten++;
      }
      this.generationFinished();
      if (life.closed) return;
      res.end();
      this.stats.streamsCompleted++;
    } finally {
      clearInterval(hb);
    }
  }

  private drop(life: Life) {
    life.intentional = true;
    this.stats.drops++;
    life.res.socket?.destroy();
  }

  private chatflowJson(c: ChatflowDef) {
    return {
      id: c.id,
      name: c.name,
      flowData: '{"nodes":[],"edges":[]}',
      deployed: c.deployed ?? false,
      isPublic: c.isPublic ?? false,
      apikeyid: null,
      chatbotConfig: null,
      apiConfig: null,
      analytic: null,
      speechToText: null,
      followUpPrompts: null,
      category: null,
      type: "CHATFLOW",
      createdDate: this.created,
      updatedDate: this.created,
      workspaceId: null,
    };
  }
}

const flowiseError = (statusCode: number, message: string) => ({ statusCode, success: false, message, stack: {} });

function send(res: http.ServerResponse, status: number, type: string, text: string) {
  res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}
function sendJson(res: http.ServerResponse, status: number, value: unknown) {
  send(res, status, "application/json; charset=utf-8", JSON.stringify(value));
}
/** Resolves once the chunk is handed to the socket (backpressure, frames land before a drop) or the response closed. */
function write(res: http.ServerResponse, chunk: string): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off("close", done);
      resolve();
    };
    res.once("close", done);
    res.write(chunk, done);
  });
}

export async function startFlowiseDouble(opts: FlowiseDoubleOptions): Promise<FlowiseDouble> {
  const d = new Double(opts);
  await d.listen(opts.port ?? 0);
  return d;
}
