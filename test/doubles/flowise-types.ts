// The Flowise double's public types: its options, answers, faults, counters and handle.
import type { Framing, SourceDocument, StartStyle } from "./flowise-sse.ts";

export interface ChatflowDef {
  id: string;
  name: string;
  deployed?: boolean;
  isPublic?: boolean;
  streamable?: boolean;
}
export interface AnswerConfig {
  tokens?: string[]; // explicit tokens; wins over tokenCount
  tokenCount?: number; // e.g. 200 -> "tok0 ".."tok199 "
  delayMs?: number; // delay between stream events (0 default)
  firstTokenDelayMs?: number; // a slow model: `start` goes out, the first token this much later
  sourceDocuments?: SourceDocument[];
  memoryType?: string;
  chatMessageId?: string; // fixed id instead of a random uuid
}
export type Fault =
  | { kind: "refuse" } // listener closed, open sockets destroyed: ECONNREFUSED until cleared
  | { kind: "delayFirstByte"; ms: number } // nothing (not even headers) before ms
  | { kind: "slowDrip"; ms: number } // ms between stream events
  | { kind: "dropMidStream"; afterEvents: number } // socket destroyed after N frames (JSON: half the body)
  | { kind: "errorFrame"; message?: string; afterTokens?: number; afterStart?: boolean } // [start] error event then end (JSON: 500)
  | { kind: "html" } // 200 text/html garbage
  | { kind: "status500"; message?: string }
  | { kind: "status429"; retryAfterSeconds?: number; message?: string }
  | { kind: "jsonWhenStreaming" }; // plain JSON answer although streaming was asked
export type ChatflowFault = Exclude<Fault, { kind: "refuse" }>;
export type Route = "prediction" | "chatflows" | "chatflow" | "other";
export interface RecordedRequest {
  method: string;
  path: string;
  route: Route;
  chatflowId?: string;
  headers: Record<string, string>;
  rawBody: string;
  body: unknown; // body: parsed JSON or undefined
}
export interface FlowiseDoubleOptions {
  apiKey: string;
  chatflows?: ChatflowDef[];
  port?: number;
  answer?: AnswerConfig;
  heartbeatMs?: number; // per-stream ':heartbeat' period, 0 = off (default 30000 like Flowise)
  framing?: Framing;
  start?: StartStyle; // default "empty", as Flowise 3.1.2 with a chat model
}
export interface DoubleStats {
  streamsStarted: number;
  streamsCompleted: number;
  framesWritten: number;
  heartbeats: number;
  drops: number;
  framesDiscarded: number; // generated after the client had gone (Flowise keeps generating)
  generationsFinished: number; // streamed predictions whose flow ran to its end, client there or not
  hung: number; // streamed requests for an unknown chatflow, never answered
}
export interface FlowiseDouble {
  readonly url: string; // http://127.0.0.1:PORT
  readonly port: number;
  readonly calls: Readonly<Record<Route, number>>;
  readonly requests: readonly RecordedRequest[];
  readonly aborts: number; // client went away before the response was complete
  readonly stats: Readonly<DoubleStats>;
  lastRequest(route?: Route): RecordedRequest | undefined;
  waitForAbort(timeoutMs?: number, atLeast?: number): Promise<number>;
  /** Resolves once `atLeast` streamed generations ran to their end (after a disconnect too). */
  waitForGenerations(atLeast: number, timeoutMs?: number): Promise<number>;
  setFault(fault: Fault | null): Promise<void>;
  setFault(fault: ChatflowFault | null, chatflowId: string): Promise<void>;
  setAnswer(answer: AnswerConfig, chatflowId?: string): void;
  reset(): Promise<void>;
  stop(): Promise<void>;
}
