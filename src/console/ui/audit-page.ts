import type { AuditEventView, AuditPage } from "../../audit/model";
import { api, apiText, qs } from "./api";
import { clear, field, h, input, notice, table, when } from "./dom";

const PAGE = 50;

type AuditEvent = AuditEventView;

const show = (v: unknown) => (v === null || v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v));
const changesText = (c: AuditEvent["changes"]) =>
  Object.entries(c)
    .map(([k, [before, after]]) => `${k}: ${show(before)} → ${show(after)}`)
    .join("; ") || "—";

/** The audit log: filters, newest first, "Load more" by cursor, and NDJSON/CSV export of the selection. */
export async function auditPage(root: HTMLElement): Promise<void> {
  const status = notice();
  const action = input("audit-action", { placeholder: "e.g. api_key.rolled" });
  const actor = input("audit-actor", { placeholder: "actor id" });
  const target = input("audit-target", { placeholder: "target id" });
  const since = input("audit-since", { type: "datetime-local" });
  const until = input("audit-until", { type: "datetime-local" });
  const list = h("div", { id: "audit-list" });
  const more = h("button", { type: "button", id: "audit-more", hidden: true }, "Load more");
  let rows: AuditEvent[] = [];
  let cursor: string | null = null;

  const iso = (el: HTMLInputElement) => (el.value ? new Date(el.value).toISOString() : undefined);
  const filters = () => ({ action: action.value.trim(), actor_id: actor.value.trim(), target_id: target.value.trim(), since: iso(since), until: iso(until) });
  const render = () =>
    clear(
      list,
      table(
        ["When", "Actor", "Action", "Target", "Changes", "Address", "Request"],
        rows,
        (e) => [
          h("span", { class: "nowrap" }, when(e.at)),
          `${e.actor.type}${e.actor.id ? ` ${e.actor.id}` : ""}`,
          e.action,
          `${e.target.type}${e.target.id ? ` ${e.target.id}` : ""}`,
          changesText(e.changes),
          e.ip ?? "—",
          e.request_id ?? "—",
        ],
        "No audit events match.",
      ),
    );
  const load = async (next: boolean) => {
    try {
      const page = await api<AuditPage>("GET", `/api/admin/audit${qs({ ...filters(), limit: PAGE, cursor: next ? (cursor ?? undefined) : undefined })}`);
      rows = next ? [...rows, ...page.events] : page.events;
      cursor = page.next_cursor;
      more.hidden = cursor === null;
      render();
    } catch (e) {
      status.fail((e as Error).message);
    }
  };
  const exportAs = async (format: "ndjson" | "csv") => {
    try {
      const text = await apiText(`/api/admin/audit${qs({ ...filters(), format })}`);
      const url = URL.createObjectURL(new Blob([text], { type: format === "csv" ? "text/csv" : "application/x-ndjson" }));
      const a = h("a", { href: url, download: `audit.${format}` });
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      status.ok(`Exported ${text.split("\n").filter(Boolean).length - (format === "csv" ? 1 : 0)} events as ${format.toUpperCase()}.`);
    } catch (e) {
      status.fail((e as Error).message);
    }
  };
  more.addEventListener("click", () => void load(true));
  const form = h(
    "form",
    { id: "audit-filters", class: "inline" },
    field("Action", action),
    field("Actor id", actor),
    field("Target id", target),
    field("Since (local time)", since),
    field("Until (local time)", until),
    h("button", { type: "submit" }, "Filter"),
    h("button", { type: "button", id: "audit-export-csv", onclick: () => void exportAs("csv") }, "Export CSV"),
    h("button", { type: "button", id: "audit-export-ndjson", onclick: () => void exportAs("ndjson") }, "Export NDJSON"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void load(false);
  });
  clear(root, h("h2", {}, "Audit log"), status.el, form, list, h("div", { class: "toolbar" }, more));
  await load(false);
}
