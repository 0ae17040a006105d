import type { DB } from "../db/client";
import type { Cursor } from "../http/paging";
import { type AuditFilter, type EventView, readEvents } from "./service";

// Rows per query while exporting: the whole selection is streamed, never held in memory.
const EXPORT_PAGE = 500;

const CSV_COLUMNS = ["id", "at", "actor_type", "actor_id", "action", "target_type", "target_id", "ip", "request_id", "changes"] as const;

/**
 * A cell a spreadsheet would run as a formula (= + - @, or a leading tab/CR that some strip
 * first) is prefixed with a quote (OWASP "CSV injection"); then RFC 4180 quoting.
 */
export function csvCell(value: unknown): string {
  let s = value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function csvLine(e: EventView): string {
  const cells = [e.id, e.at, e.actor.type, e.actor.id, e.action, e.target.type, e.target.id, e.ip, e.request_id, e.changes];
  return `${cells.map(csvCell).join(",")}\r\n`;
}

/**
 * The whole selection (after `from`, when given) as NDJSON or CSV, newest first, read a page at
 * a time as the client reads. The filter and cursor come checked: the 200 is sent before any read.
 */
export function exportEvents(db: DB, filter: AuditFilter, format: "ndjson" | "csv", from?: Cursor): Response {
  const encoder = new TextEncoder();
  let cursor = from;
  let started = false;
  let done = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started && format === "csv") controller.enqueue(encoder.encode(`${CSV_COLUMNS.join(",")}\r\n`));
      started = true;
      if (done) return controller.close();
      const page = await readEvents(db, filter, EXPORT_PAGE, cursor);
      const text = page.events.map((e) => (format === "csv" ? csvLine(e) : `${JSON.stringify(e)}\n`)).join("");
      if (text) controller.enqueue(encoder.encode(text));
      cursor = page.next ?? undefined;
      done = !page.next;
      if (done) controller.close();
    },
  });
  const type = format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson";
  const headers: Record<string, string> = { "content-type": type, "cache-control": "no-store" };
  if (format === "csv") headers["content-disposition"] = 'attachment; filename="audit.csv"';
  return new Response(stream, { headers });
}
