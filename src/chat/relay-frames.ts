// What the stream relay makes of Flowise's frames: the answer assembled so far, which frames are
// answer content (what a user is charged for), and the encoder that decides what the client sees.
import type { FlowiseEvent } from "./sse";

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

/**
 * Answer content: a `token` with text. Flowise 3.1.2 sends `start` with `""` as soon as the model's
 * stream opens (older versions put the first token in it, and send that token again as `token`),
 * so `start` alone never means the user saw anything.
 */
export const carriesAnswer = (e: FlowiseEvent | undefined) => e?.event === "token" && typeof e.data === "string" && e.data !== "";
// Flowise's error text can quote a provider's error ("Incorrect API key provided: sk-..."): what
// looks like a key or token never reaches the log line.
const SECRET_LIKE = /\b(?:sk|pk|rk)[-_][\w*-]{6,}|\bBearer\s+\S+|\beyJ[\w-]+\.[\w-]+\.?[\w-]*/gi;
export const logReason = (text: string) => text.replace(SECRET_LIKE, "[redacted]").slice(0, 200);
export function absorb(s: StreamState, e: FlowiseEvent): void {
  // `start` carries the first token, which Flowise sends again as a `token`.
  if (e.event === "token" && typeof e.data === "string") s.text += e.data;
  else if (e.event === "sourceDocuments" && Array.isArray(e.data)) s.sources = e.data;
  else if (e.event === "metadata" && e.data && typeof e.data === "object") s.metadata = e.data as Record<string, unknown>;
  else if (e.event === "error") s.error = typeof e.data === "string" ? e.data : JSON.stringify(e.data);
  else if (e.event === "end") s.ended = true;
}
