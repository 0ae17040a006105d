// Shared by the chat and brain tests: a Flowise double, an app listening on a real socket, seeding
// through the tables (chatflows, grants, balances), and an EventSource-style SSE reader.
import { eq, sql } from "drizzle-orm";
import type { DB } from "../../src/db/client";
import { chatflowAccess, chatflows, creditBalances } from "../../src/db/schema";
import { newId } from "../../src/ids";
import { startFlowiseDouble, type FlowiseDouble } from "../doubles/flowise";
import { makeApp, type TestApp } from "../helpers";

export const FLOWISE_KEY = "flowise-test-key";

export interface Served {
  t: TestApp;
  base: string;
  stop(): Promise<void>;
}

/** An app on 127.0.0.1:<random port> talking to the double. */
export async function serve(d: FlowiseDouble, env: Record<string, string> = {}, reuse?: { schema?: string }): Promise<Served> {
  const t = await makeApp({ FLOWISE_URL: d.url, FLOWISE_API_KEY: FLOWISE_KEY, FLOWISE_TIMEOUT: "2", ...env }, reuse);
  t.app.listen({ port: 0, hostname: "127.0.0.1" });
  const base = `http://127.0.0.1:${t.app.server!.port}`;
  return {
    t,
    base,
    async stop() {
      await t.app.stop(true);
      await t.close();
    },
  };
}

export async function startDouble(flowIds: string[], opts: { heartbeatMs?: number } = {}): Promise<FlowiseDouble> {
  return startFlowiseDouble({ apiKey: FLOWISE_KEY, chatflows: flowIds.map((id, i) => ({ id, name: `Flow ${i}` })), heartbeatMs: opts.heartbeatMs ?? 0 });
}

/** A chatflow row (id shared with the double), granted to the given users. */
export async function seedChatflow(db: DB, id: string, opts: { cost?: number; grant?: string[]; name?: string } = {}): Promise<string> {
  await db
    .insert(chatflows)
    .values({ id, name: opts.name ?? `Brain ${newId("n")}`, cost: opts.cost ?? 1 })
    .onConflictDoNothing();
  for (const userId of opts.grant ?? []) await db.insert(chatflowAccess).values({ chatflowId: id, userId }).onConflictDoNothing();
  return id;
}

export async function setBalance(db: DB, userId: string, balance: number): Promise<void> {
  await db.insert(creditBalances).values({ userId, balance }).onConflictDoUpdate({ target: creditBalances.userId, set: { balance } });
}

export async function balanceOf(db: DB, userId: string): Promise<number> {
  const [row] = await db.select({ b: creditBalances.balance }).from(creditBalances).where(eq(creditBalances.userId, userId));
  return row?.b ?? 0;
}

/** Reservations of a user by status, to check the settle/refund policy. */
export async function reservations(db: DB, userId: string): Promise<Record<string, number>> {
  const rows = await db.execute(sql`select status, count(*)::int as n from credit_reservations where user_id = ${userId} group by status`);
  const out: Record<string, number> = {};
  for (const r of (Array.isArray(rows) ? rows : (rows as { rows: unknown[] }).rows) as { status: string; n: number }[]) out[r.status] = Number(r.n);
  return out;
}

export function post(base: string, path: string, body: unknown, token?: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify(body),
    signal,
  });
}

export function get(base: string, path: string, token: string): Promise<Response> {
  return fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
}

/** Every byte of a response body, as text. */
export async function bodyText(res: Response): Promise<string> {
  return new TextDecoder().decode(await res.arrayBuffer());
}

export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/**
 * An EventSource-style parser (WHATWG HTML "event stream interpretation"): lines end in CRLF, LF or
 * CR; `:` lines are comments; `field: value` with one optional space; a blank line dispatches the
 * event when data is non-empty; the trailing newline of data is removed; type defaults to "message".
 */
export class EventSourceParser {
  readonly events: SseMessage[] = [];
  comments = 0;
  private buf = "";
  private data = "";
  private type = "";
  private lastId: string | undefined;

  push(text: string): SseMessage[] {
    this.buf += text;
    const out: SseMessage[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      // A lone CR at the end could be half of CRLF: wait for more.
      if (m[0] === "\r" && m.index === this.buf.length - 1) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    this.events.push(...out);
    return out;
  }

  private line(line: string): SseMessage | undefined {
    if (line === "") {
      if (this.data === "") {
        this.type = "";
        return undefined;
      }
      const ev: SseMessage = { event: this.type || "message", data: this.data.endsWith("\n") ? this.data.slice(0, -1) : this.data, id: this.lastId };
      this.data = "";
      this.type = "";
      return ev;
    }
    if (line.startsWith(":")) {
      this.comments++;
      return undefined;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.type = value;
    else if (field === "data") this.data += `${value}\n`;
    else if (field === "id" && !value.includes("\0")) this.lastId = value;
    return undefined;
  }
}

/** Reads a stream chunk by chunk, returning the raw bytes as text and the parsed events. */
export async function readStream(res: Response, onChunk?: (text: string, p: EventSourceParser) => void | Promise<void>) {
  const parser = new EventSourceParser();
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let raw = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const text = decoder.decode(value, { stream: true });
    raw += text;
    parser.push(text);
    await onChunk?.(text, parser);
  }
  return { raw, parser };
}

/** Waits (bounded) until the user's reservations are no longer held: the stream's finally has run. */
export async function settled(db: DB, userId: string, timeoutMs = 5000): Promise<Record<string, number>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await reservations(db, userId);
    if (!r.held || Date.now() > until) return r;
    await Bun.sleep(20);
  }
}
