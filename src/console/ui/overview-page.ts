// The first page: usage over time (from the usage rollups), who spends the credits, and whether
// the outbox is keeping up. Each part loads on its own, so one failing API leaves the rest shown.
import { api, qs } from "./api";
import { lineChart } from "./chart";
import { clear, h, notice, table } from "./dom";
import { bucketsOf, type Counter, loadUsage, RANGES, type Range, seriesOf, totalsBy, type UsageRow } from "./usage";
import type { AdminListedKey } from "../../keys/model";
import type { UsersResponse } from "../../identity/model";

const TOP = 5;
let range: Range = "24h";

/** Asks the shell to show another page (the shell listens; pages do not import it). */
export const navigate = (page: string) => document.dispatchEvent(new CustomEvent("console:navigate", { detail: page }));

async function count(path: string, key: "total" | "count"): Promise<number> {
  const answer = await api<Record<string, unknown>>("GET", path);
  return Number(answer[key] ?? 0);
}

const CHARTS: Array<{ id: string; title: string; series: Array<[string, Counter]> }> = [
  { id: "chart-requests", title: "Requests", series: [["Requests", "requests"]] },
  {
    id: "chart-predictions",
    title: "Predictions",
    series: [
      ["All", "predictions"],
      ["Failed", "failed_predictions"],
    ],
  },
  { id: "chart-credits", title: "Credits spent", series: [["Credits", "credits_spent"]] },
  {
    id: "chart-errors",
    title: "Errors",
    series: [
      ["Errors", "errors"],
      ["Rate-limited", "rate_limited"],
    ],
  },
  {
    id: "chart-logins",
    title: "Logins",
    series: [
      ["OK", "logins"],
      ["Failed", "failed_logins"],
    ],
  },
];

function charts(rows: UsageRow[]): HTMLElement {
  const buckets = bucketsOf(range);
  const { granularity, label } = RANGES[range];
  return h(
    "div",
    { class: "charts" },
    ...CHARTS.map((c) =>
      lineChart({
        id: c.id,
        title: `${c.title}, ${label}`,
        buckets,
        granularity,
        series: c.series.map(([name, counter]) => ({ label: name, values: seriesOf(rows, buckets, counter, granularity) })),
      }),
    ),
  );
}

/** Names of the few ids shown (one small request each), so the page never loads every user or key. */
async function namesOf(ids: string[], find: (id: string) => Promise<string | undefined>): Promise<Map<string, string>> {
  const found = await Promise.all(ids.map(async (id) => [id, await find(id).catch(() => undefined)] as const));
  return new Map(found.filter((x): x is readonly [string, string] => x[1] !== undefined));
}

const userName = async (id: string) => {
  const a = await api<UsersResponse>("GET", `/api/auth/users${qs({ q: id, limit: 5 })}`);
  return a.users.find((u) => u.id === id)?.email;
};
const keyName = async (id: string) => {
  const k = (await api<AdminListedKey[]>("GET", `/api/auth/api-keys${qs({ q: id, limit: 5 })}`)).find((x) => x.id === id);
  return k ? `${k.name} (${k.start}…, ${k.user_email ?? k.user_id})` : undefined;
};

async function tops(): Promise<HTMLElement> {
  const [byUser, byKey, byFlow, flows] = await Promise.all([
    loadUsage("user", range),
    loadUsage("key", range),
    loadUsage("chatflow", range),
    // Names are a nicety: without them the ids are shown.
    api<{ chatflows: Array<{ id: string; name: string }> }>("GET", `/api/admin/chatflows${qs({ limit: 200 })}`).catch(() => ({ chatflows: [] })),
  ]);
  const top = (rows: UsageRow[]) => totalsBy(rows, "credits_spent").slice(0, TOP);
  const [users, keys] = await Promise.all([
    namesOf(
      top(byUser).map(([id]) => id),
      userName,
    ),
    namesOf(
      top(byKey).map(([id]) => id),
      keyName,
    ),
  ]);
  const flowName = new Map(flows.chatflows.map((c) => [c.id, c.name]));
  const block = (id: string, title: string, rows: UsageRow[], names: Map<string, string>) => {
    const requests = new Map(totalsBy(rows, "requests"));
    return h(
      "section",
      { id, "aria-label": title },
      h("h4", {}, title),
      table(["Who", "Credits", "Requests"], top(rows), ([who, credits]) => [names.get(who) ?? who, String(credits), String(requests.get(who) ?? 0)], "No usage in this range."),
    );
  };
  return h(
    "div",
    { class: "tops" },
    block("top-users", "Top users by credits", byUser, users),
    block("top-keys", "Top API keys by credits", byKey, keys),
    block("top-chatflows", "Top chatflows by credits", byFlow, flowName),
  );
}

async function backlog(): Promise<HTMLElement> {
  const [queued, failed, sent, users, chatflows] = await Promise.all([
    count(`/api/messages${qs({ status: "queued", limit: 1 })}`, "total"),
    count(`/api/messages${qs({ status: "failed", limit: 1 })}`, "total"),
    count(`/api/messages${qs({ status: "sent", limit: 1 })}`, "total"),
    count(`/api/auth/users${qs({ limit: 1 })}`, "count"),
    count(`/api/admin/chatflows${qs({ limit: 1 })}`, "count"),
  ]);
  const tile = (id: string, label: string, value: number) => h("div", { class: "tile", id }, h("div", { class: "value" }, String(value)), h("div", { class: "label" }, label));
  return h(
    "div",
    {},
    h(
      "div",
      { class: "tiles" },
      tile("tile-queued", "Messages queued", queued),
      tile("tile-failed", "Messages failed", failed),
      tile("tile-sent", "Messages sent", sent),
      tile("tile-users", "Users", users),
      tile("tile-chatflows", "Chatflows", chatflows),
    ),
    h("button", { type: "button", onclick: () => navigate("messages") }, "Open the outbox"),
  );
}

/** Renders `part` into `into`, or the API's words when it fails. */
async function fill(into: HTMLElement, part: () => Promise<HTMLElement>): Promise<void> {
  try {
    clear(into, await part());
  } catch (e) {
    clear(into, h("p", { class: "notice error", role: "alert" }, (e as Error).message));
  }
}

export async function overviewPage(root: HTMLElement): Promise<void> {
  const status = notice();
  const chartBox = h("div", { id: "overview-charts" }, h("p", { class: "muted" }, "Loading…"));
  const topBox = h("div", { id: "overview-tops" }, h("p", { class: "muted" }, "Loading…"));
  const outbox = h("div", { id: "overview-outbox" }, h("p", { class: "muted" }, "Loading…"));
  const picker = h(
    "div",
    { class: "range", role: "group", "aria-label": "Time range" },
    ...(Object.keys(RANGES) as Range[]).map((r) =>
      h(
        "button",
        {
          type: "button",
          "data-range": r,
          "aria-pressed": String(r === range),
          onclick: () => {
            range = r;
            void overviewPage(root);
          },
        },
        RANGES[r].label.replace("last ", ""),
      ),
    ),
  );
  clear(
    root,
    h("h2", {}, "Overview"),
    status.el,
    h("div", { class: "toolbar" }, picker, h("button", { type: "button", id: "overview-refresh", onclick: () => void overviewPage(root) }, "Refresh")),
    h("h3", {}, `Usage, ${RANGES[range].label} (UTC)`),
    chartBox,
    h("h3", {}, "Who spends the credits"),
    topBox,
    h("h3", {}, "Outbox backlog and counts"),
    outbox,
  );
  await Promise.all([fill(chartBox, async () => charts(await loadUsage("none", range))), fill(topBox, tops), fill(outbox, backlog)]);
}
