// A user's usage over time (GET /api/admin/usage?group_by=user&id=), their API keys and their
// admin-issued API tokens: what a support person looks at when a customer calls.
import { api, qs } from "./api";
import { lineChart } from "./chart";
import { clear, h, select, table, when } from "./dom";
import { bucketsOf, loadUsage, RANGES, seriesOf, type Range } from "./usage";
import type { AdminUser } from "./users-data";
import type { ApiTokenList } from "../../admin-tokens/model";
import type { ListedKey } from "../../keys/model";

const keyState = (k: ListedKey) => (k.revoked_at ? `revoked ${when(k.revoked_at)}` : k.expires_at && Date.parse(k.expires_at) <= Date.now() ? "expired" : "active");

export async function userActivity(box: HTMLElement, u: AdminUser): Promise<void> {
  const range = select(
    "user-usage-range",
    (Object.keys(RANGES) as Range[]).map((r) => [r, RANGES[r].label]),
    "7d",
  );
  range.setAttribute("aria-label", "Usage period");
  const chart = h("div", { id: "user-usage" });
  const keys = h("div", { id: "user-keys" });
  const tokens = h("div", { id: "user-tokens" });
  const fail = (el: HTMLElement, e: unknown) => clear(el, h("p", { class: "notice error", role: "alert" }, (e as Error).message));

  const loadChart = async () => {
    try {
      const r = range.value as Range;
      const { granularity } = RANGES[r];
      const buckets = bucketsOf(r);
      const rows = await loadUsage("user", r, u.id);
      const series = (label: string, c: Parameters<typeof seriesOf>[2]) => ({ label, values: seriesOf(rows, buckets, c, granularity) });
      clear(
        chart,
        h(
          "div",
          { class: "charts" },
          lineChart({ id: "user-chart-requests", title: "Requests", buckets, granularity, series: [series("requests", "requests"), series("rate limited", "rate_limited")] }),
          lineChart({
            id: "user-chart-predictions",
            title: "Predictions",
            buckets,
            granularity,
            series: [series("predictions", "predictions"), series("failed", "failed_predictions")],
          }),
          lineChart({ id: "user-chart-credits", title: "Credits spent", buckets, granularity, series: [series("credits", "credits_spent")] }),
        ),
      );
    } catch (e) {
      fail(chart, e);
    }
  };
  range.addEventListener("change", () => void loadChart());

  const loadKeys = async () => {
    try {
      const rows = await api<ListedKey[]>("GET", `/api/auth/api-keys${qs({ user_id: u.id, limit: 100 })}`);
      clear(
        keys,
        table(
          ["Name", "Starts with", "Level", "Environment", "Last used", "State"],
          rows,
          (k) => [k.name, h("code", {}, k.start), k.level, k.environment, when(k.last_used_at), keyState(k)],
          "No API keys.",
        ),
      );
    } catch (e) {
      fail(keys, e);
    }
  };
  const loadTokens = async () => {
    try {
      const answer = await api<ApiTokenList>("GET", `/api/admin/tokens${qs({ userId: u.id, limit: 100 })}`);
      clear(
        tokens,
        table(
          ["Description", "Created", "Expires", "Last used", "State"],
          answer.tokens,
          (x) => [
            x.description ?? "—",
            when(x.createdAt),
            x.expiresAt ? when(x.expiresAt) : "never",
            when(x.lastUsedAt),
            x.revokedAt ? `revoked ${when(x.revokedAt)}` : x.active ? "active" : "expired",
          ],
          "No API tokens.",
        ),
        answer.count > answer.tokens.length
          ? h("p", { class: "muted" }, `Showing the newest ${answer.tokens.length} of ${answer.count}; the API tokens page lists them all.`)
          : null,
      );
    } catch (e) {
      fail(tokens, e);
    }
  };

  clear(box, h("h4", {}, "Usage"), h("div", { class: "toolbar" }, range), chart, h("h4", {}, "API keys"), keys, h("h4", {}, "API tokens"), tokens);
  await Promise.all([loadChart(), loadKeys(), loadTokens()]);
}
