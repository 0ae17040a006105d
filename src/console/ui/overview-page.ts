import { api, apiText, qs } from "./api";
import { clear, h, notice, table } from "./dom";
import { delta, latest, parseMetrics, record } from "./metrics";
import { loadUsers } from "./users-data";

const POLL_MS = 30_000;
let poller: ReturnType<typeof setInterval> | undefined;

export async function sampleMetrics(): Promise<void> {
  record(parseMetrics(await apiText("/metrics")));
}

/** Samples /metrics in the background while signed in, so the hourly deltas fill up. */
export function startSampling(): void {
  stopSampling();
  void sampleMetrics().catch(() => undefined);
  poller = setInterval(() => void sampleMetrics().catch(() => undefined), POLL_MS);
}

export function stopSampling(): void {
  clearInterval(poller);
  poller = undefined;
}

async function total(path: string, key: "total" | "count"): Promise<number> {
  const answer = await api<Record<string, unknown>>("GET", path);
  return Number(answer[key] ?? 0);
}

export async function overviewPage(root: HTMLElement): Promise<void> {
  const status = notice();
  const body = h("div", {});
  clear(root, h("h2", {}, "Overview"), status.el, body);
  try {
    await sampleMetrics();
    const [users, chatflows, queued, failed, sent, tokens] = await Promise.all([
      loadUsers(),
      total(`/api/admin/chatflows${qs({ limit: 1 })}`, "count"),
      total(`/api/messages${qs({ status: "queued", limit: 1 })}`, "total"),
      total(`/api/messages${qs({ status: "failed", limit: 1 })}`, "total"),
      total(`/api/messages${qs({ status: "sent", limit: 1 })}`, "total"),
      total("/api/admin/tokens", "count"),
    ]);
    const counts: Array<[string, string | number]> = [
      ["Users", users.length],
      ["Admins", users.filter((u) => u.role === "admin").length],
      ["Disabled users", users.filter((u) => u.disabled).length],
      ["Chatflows", chatflows],
      ["API tokens issued (all time)", tokens],
      ["Messages queued / sent / failed", `${queued} / ${sent} / ${failed}`],
    ];
    const window = delta("chatgate_http_requests_total");
    const span = window.minutes > 0 ? `last ${Math.min(60, window.minutes)} min` : "since this page opened";
    const activity: Array<[string, string, number, number]> = [
      ["Requests", "chatgate_http_requests_total", 0, 0],
      ["Logins ok", "chatgate_logins_total|result=ok", 0, 0],
      ["Logins failed", "chatgate_logins_total|result=failed", 0, 0],
      ["Logins throttled", "chatgate_logins_total|result=throttled", 0, 0],
      ["Predictions", "chatgate_predictions_total", 0, 0],
      ["Tokens issued", "chatgate_tokens_issued_total", 0, 0],
    ].map(([label, key]) => [label as string, key as string, delta(key as string).value, latest(key as string)]);
    clear(
      body,
      h("h3", {}, "Counts"),
      table(["What", "Count"], counts, ([k, v]) => [k, String(v)]),
      h("h3", {}, "Activity"),
      h(
        "p",
        { class: "muted" },
        `"${span}" is the change between this console's own samples of /metrics (every 30 s while signed in, kept for an hour); "since start" is the process's counter.`,
      ),
      table(["What", span, "Since start"], activity, ([label, , d, l]) => [label, String(d), String(l)]),
      h("div", { class: "toolbar" }, h("button", { type: "button", onclick: () => void overviewPage(root) }, "Refresh")),
    );
  } catch (e) {
    status.fail((e as Error).message);
  }
}
