// Messages between the main thread (./pglite-remote.ts) and the database thread (./pglite-worker.ts).
import type { Assets } from "./pglite";

export interface QueryOptions {
  rowMode?: "array" | "object";
  /** Type oids returned as their text (Drizzle keeps timestamps, dates, intervals raw). */
  raw?: number[];
}

export type ToWorker =
  | { t: "open"; id: number; dataDir: string; assets: Assets; memoryTemplate?: Blob }
  | { t: "q"; id: number; sql: string; params: unknown[]; opts?: QueryOptions; tx?: number }
  /** Unanswered: the transaction's statements and its end follow at once, naming `tx`. */
  | { t: "begin"; id: number; tx: number }
  | { t: "end"; id: number; tx: number; commit: boolean }
  | { t: "listen"; id: number; channel: string }
  | { t: "unlisten"; id: number; channel: string }
  | { t: "close"; id: number };

/** A Postgres error's fields (code, detail, constraint...) survive the trip; its class does not. */
export type WireError = { message: string; name?: string } & Record<string, string | number | undefined>;

export type FromWorker = { t: "r"; id: number; ok: true; v: unknown } | { t: "r"; id: number; ok: false; e: WireError } | { t: "n"; channel: string; payload: string };
