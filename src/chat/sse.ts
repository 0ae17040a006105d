// Flowise's SSE wire format, read and written byte-exactly. Flowise (utils/SSEStreamer.ts) writes
// every frame as `message:\ndata:<json>\n\n` and heartbeats as the comment `:heartbeat\n\n`.

export interface FlowiseEvent {
  event: string;
  data: unknown;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const HEARTBEAT = encoder.encode(":heartbeat\n\n");

/** A frame in Flowise's own form, so a client parsing Flowise's stream reads chatgate's frames too. */
export function flowiseFrame(event: string, data: unknown): Uint8Array {
  return encoder.encode(`message:\ndata:${JSON.stringify({ event, data })}\n\n`);
}

/** A plain `data: <json>` frame (the brain stream's form). */
export function dataFrame(value: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(value)}\n\n`);
}

const LF = 10;
const CR = 13;

/**
 * Cuts a byte stream into whole SSE frames (each with its terminating blank line), never altering
 * a byte. Bytes of a frame whose blank line has not arrived yet wait for it: the relay has to know
 * where `end` begins to put chatgate's frame before it, and a client cannot act on half a frame.
 */
export class FrameSplitter {
  private pending = new Uint8Array(0);

  push(chunk: Uint8Array): Uint8Array[] {
    const buf = this.pending.length === 0 ? chunk : concat(this.pending, chunk);
    const frames: Uint8Array[] = [];
    let start = 0;
    for (let i = 0; i < buf.length - 1; i++) {
      if (buf[i] !== LF) continue;
      let end = -1;
      if (buf[i + 1] === LF) end = i + 2;
      else if (buf[i + 1] === CR && buf[i + 2] === LF) end = i + 3;
      if (end < 0) continue;
      frames.push(buf.subarray(start, end));
      start = end;
      i = end - 1;
    }
    this.pending = buf.slice(start);
    return frames;
  }

  /** Bytes after the last complete frame (a stream that ended mid-frame). */
  rest(): Uint8Array {
    return this.pending;
  }

  /** Hands over the incomplete frame's bytes and forgets them (an upstream that never ends a frame). */
  take(): Uint8Array {
    const out = this.pending;
    this.pending = new Uint8Array(0);
    return out;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The event a frame carries; undefined for comments, blank frames and data that is not an event object. */
export function parseFrame(raw: Uint8Array): FlowiseEvent | undefined {
  let data: string | undefined;
  for (const line of decoder.decode(raw).split(/\r?\n/)) {
    if (!line.startsWith("data:")) continue;
    const value = line.slice(5).replace(/^ /, "");
    data = data === undefined ? value : `${data}\n${value}`;
  }
  if (data === undefined) return undefined;
  try {
    const parsed = JSON.parse(data) as unknown;
    if (parsed && typeof parsed === "object" && typeof (parsed as FlowiseEvent).event === "string") return parsed as FlowiseEvent;
  } catch {
    // Not JSON: relayed as is, ignored for the stored answer.
  }
  return undefined;
}

export const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache",
  "X-Accel-Buffering": "no",
} as const;
