// Flowise wire-format helpers shared by the Flowise double (flowise.ts) and by tests that read its
// streams. See the header of flowise.ts for the Flowise source files this was checked against.

/** One Flowise stream event: the JSON object after `data:` in each frame. */
export interface FlowiseEvent {
  event: string;
  data: unknown;
}

export interface SourceDocument {
  pageContent: string;
  metadata: Record<string, unknown>;
}

/**
 * "current": every frame is `message:\ndata:<json>\n\n` (recent SSEStreamer.ts).
 * "legacy": older SSEStreamer.ts wrote `message\ndata:` (no colon) for end/error/abort frames.
 */
export type Framing = "current" | "legacy";

/** SSE comment written by SSEStreamer.startHeartbeat() to every open client (default every 30 s). */
export const HEARTBEAT_FRAME = ":heartbeat\n\n";

const LEGACY_NO_COLON = new Set(["end", "error", "abort"]);

/** Serialises one event exactly as Flowise's SSEStreamer does. */
export function sseFrame(event: string, data: unknown, framing: Framing = "current"): string {
  const prefix = framing === "legacy" && LEGACY_NO_COLON.has(event) ? "message\ndata:" : "message:\ndata:";
  return `${prefix}${JSON.stringify({ event, data })}\n\n`;
}

/** `count` tokens "tok0 ", "tok1 ", ... (the answer text is their concatenation). */
export function makeTokens(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `tok${i} `);
}

/** What buildChatflow() returns for one prediction: the fields both answer forms are built from. */
export interface PredictionResult {
  tokens: string[];
  question: string;
  chatId: string;
  chatMessageId: string;
  sessionId: string;
  memoryType?: string;
  sourceDocuments?: SourceDocument[];
}

/** Non-streaming body: node result ({text, sourceDocuments?}) then question/chatId/chatMessageId/sessionId/memoryType. */
export function jsonAnswer(r: PredictionResult): Record<string, unknown> {
  const out: Record<string, unknown> = { text: r.tokens.join("") };
  if (r.sourceDocuments?.length) out.sourceDocuments = r.sourceDocuments;
  out.question = r.question;
  out.chatId = r.chatId;
  out.chatMessageId = r.chatMessageId;
  if (r.sessionId) out.sessionId = r.sessionId;
  if (r.memoryType) out.memoryType = r.memoryType;
  return out;
}

/** metadata event data: SSEStreamer.streamMetadataEvent only copies truthy fields. */
export function metadataOf(r: PredictionResult): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  if (r.chatId) m.chatId = r.chatId;
  if (r.chatMessageId) m.chatMessageId = r.chatMessageId;
  if (r.question) m.question = r.question;
  if (r.sessionId) m.sessionId = r.sessionId;
  if (r.memoryType) m.memoryType = r.memoryType;
  return m;
}

/**
 * What `start` carries. "empty" is Flowise 3.1.2 with a streaming chat model: the callback handler
 * (components/src/handler.ts handleLLMNewToken) sends `start` with the first callback's token, and a
 * chat model's first chunk is the role chunk with content "" — so `start` is `""`, sent as soon as
 * the model's stream opens, and no `token` follows for it (empty tokens are never streamed).
 * "firstToken": a model whose first chunk already has text (older flows, cached answers).
 */
export type StartStyle = "empty" | "firstToken";

function startEvent(tokens: string[], style: StartStyle): FlowiseEvent[] {
  if (style === "empty") return [{ event: "start", data: "" }];
  return tokens.length > 0 ? [{ event: "start", data: tokens[0] }] : [];
}

/**
 * Events of a successful stream, in Flowise order: `start` (see StartStyle), one `token` per
 * non-empty token, `sourceDocuments` (chain end), `metadata` (after buildChatflow returns), `end`
 * "[DONE]" (removeClient).
 */
export function streamEvents(r: PredictionResult, style: StartStyle = "empty"): FlowiseEvent[] {
  const events: FlowiseEvent[] = startEvent(r.tokens, style);
  for (const t of r.tokens) if (t !== "") events.push({ event: "token", data: t });
  if (r.sourceDocuments?.length) events.push({ event: "sourceDocuments", data: r.sourceDocuments });
  const meta = metadataOf(r);
  if (Object.keys(meta).length > 0) events.push({ event: "metadata", data: meta });
  events.push({ event: "end", data: "[DONE]" });
  return events;
}

/**
 * Events of a stream that fails after `afterTokens` tokens: tokens, `error`, then `end` (the
 * controller's catch calls streamErrorEvent, its finally removeClient). `start` comes first when
 * the model's stream had opened: always once a token was sent, and with `afterStart` before any
 * (a model that opened its stream and then failed or timed out).
 */
export function errorStreamEvents(tokens: string[], afterTokens: number, message: string, opts: { style?: StartStyle; afterStart?: boolean } = {}): FlowiseEvent[] {
  const sent = tokens.slice(0, Math.max(0, afterTokens));
  const events: FlowiseEvent[] = sent.length > 0 || opts.afterStart ? startEvent(sent, opts.style ?? "empty") : [];
  for (const t of sent) if (t !== "") events.push({ event: "token", data: t });
  events.push({ event: "error", data: message });
  events.push({ event: "end", data: "[DONE]" });
  return events;
}

/** Parses a complete Flowise SSE body (either framing) into events, counting `:` comment heartbeats. */
export function parseFlowiseSse(text: string): { events: FlowiseEvent[]; heartbeats: number } {
  const events: FlowiseEvent[] = [];
  let heartbeats = 0;
  for (const block of text.split("\n\n")) {
    if (block === "") continue;
    let data: string | undefined;
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) heartbeats++;
      else if (line.startsWith("data:")) data = (data === undefined ? "" : `${data}\n`) + line.slice(5).replace(/^ /, "");
    }
    if (data !== undefined) events.push(JSON.parse(data) as FlowiseEvent);
  }
  return { events, heartbeats };
}
