// Every API key in one list: searched and filtered by the server (so page 3 of thousands is the
// right page), with last use, usage per key from the rollups, limits, roll and revoke.
import { api, apiList, qs } from "./api";
import { clear, confirmAction, field, h, input, pager, secretBox, select, table, when } from "./dom";
import { resultLine } from "./forms";
import { keyCreateForm } from "./key-create";
import { ownQuotas, quotaForm, quotaText, type Defaults, type Quota } from "./rate-limit";
import { loadUsage, totalsBy } from "./usage";
import { loadUsers } from "./users-data";
import type { AdminListedKey, KeyRolled } from "../../keys/model";

const PAGE = 20;

const stateOf = (k: AdminListedKey) =>
  k.revoked_at ? `revoked ${when(k.revoked_at)}` : k.expires_at && Date.parse(k.expires_at) <= Date.now() ? `expired ${when(k.expires_at)}` : "active";

export async function keysPage(root: HTMLElement): Promise<void> {
  const status = resultLine("keys-status");
  const users = await loadUsers();
  const q = input("key-search", { type: "search", placeholder: "name, key start, user email" });
  const level = select("key-filter-level", [
    ["", "any"],
    ["read", "read"],
    ["write", "write"],
    ["admin", "admin"],
  ]);
  const environment = select("key-filter-environment", [
    ["", "any"],
    ["live", "live"],
    ["test", "test"],
  ]);
  const state = select("key-filter-status", [
    ["", "any"],
    ["active", "active"],
    ["revoked", "revoked"],
    ["expired", "expired"],
  ]);
  const list = h("div", { id: "key-list" });
  const panel = h("div", { id: "key-panel" });
  let rows: AdminListedKey[] = [];
  let total = 0;
  let offset = 0;
  let own = new Map<string, Quota>();
  let defaults: Defaults | undefined;
  let usage: { requests: Map<string, number>; credits: Map<string, number> } | string = "loading";

  const limitText = (k: AdminListedKey) => {
    const own_ = own.get(k.id);
    if (own_) return quotaText(own_);
    return defaults?.user ? `owner's (default ${quotaText(defaults.user)})` : "owner's";
  };
  const usageText = (k: AdminListedKey) => (typeof usage === "string" ? "—" : `${usage.requests.get(k.id) ?? 0} requests, ${usage.credits.get(k.id) ?? 0} credits`);
  const button = (label: string, attrs: Record<string, string>, onclick: () => void, cls = "") => h("button", { type: "button", class: cls || null, ...attrs, onclick }, label);

  const render = () => {
    clear(
      list,
      h("p", { class: "muted", id: "key-count" }, `${total} key${total === 1 ? "" : "s"} match.`),
      table(
        ["Name", "User", "Key starts", "Level", "Env", "Last used", "Usage (30 days)", "Rate limit", "Expires", "State", "Actions"],
        rows,
        (k) => [
          k.name,
          k.user_email ?? k.user_id,
          h("span", { class: "id nowrap" }, `${k.start}…`),
          k.level,
          k.environment,
          when(k.last_used_at),
          usageText(k),
          limitText(k),
          k.expires_at ? when(k.expires_at) : "never",
          stateOf(k),
          h(
            "div",
            { class: "actions-cell" },
            button("Limit", { "data-limit-key": k.id, "aria-label": `Rate limit of ${k.name}` }, () => editLimit(k)),
            k.revoked_at ? null : button("Roll", { "data-roll-key": k.id, "aria-label": `Roll ${k.name}` }, () => rollPanel(k)),
            k.revoked_at ? null : button("Revoke", { "data-revoke-key": k.id, "aria-label": `Revoke ${k.name}` }, () => void revoke(k), "danger"),
          ),
        ],
        "No keys match.",
      ),
      pager(total, offset, PAGE, (o) => {
        offset = o;
        void reload();
      }),
      typeof usage === "string" && usage !== "loading" ? h("p", { class: "muted" }, `Usage is not shown: ${usage}`) : null,
    );
  };

  const reload = async () => {
    try {
      const page = await apiList<AdminListedKey>(
        `/api/auth/api-keys${qs({ q: q.value.trim(), level: level.value, environment: environment.value, status: state.value, limit: PAGE, offset })}`,
      );
      rows = page.rows;
      total = page.total;
      const quotas = await ownQuotas(
        "key",
        rows.map((k) => k.id),
      );
      own = quotas.own;
      defaults = quotas.defaults ?? defaults;
      render();
    } catch (e) {
      status.fail((e as Error).message);
    }
  };
  const loadKeyUsage = async () => {
    try {
      const r = await loadUsage("key", "30d");
      usage = { requests: new Map(totalsBy(r, "requests")), credits: new Map(totalsBy(r, "credits_spent")) };
    } catch (e) {
      usage = (e as Error).message;
    }
  };

  const editLimit = (k: AdminListedKey) => {
    const result = resultLine("key-limit-result");
    clear(
      panel,
      h("h3", {}, `Rate limit of "${k.name}" (${k.start}…)`),
      h("p", { class: "muted" }, "Without one of its own, only its owner's limit applies; with one, both apply."),
      quotaForm(
        "key-limit-form",
        own.get(k.id) ?? null,
        async (limit) => {
          try {
            await api("PATCH", `/api/auth/api-keys/${encodeURIComponent(k.id)}`, { rate_limit: limit });
            status.ok(limit ? `Key "${k.name}" is limited to ${quotaText(limit)}.` : `Key "${k.name}" has no limit of its own now.`);
            clear(panel);
            await reload();
          } catch (e) {
            result.fail((e as Error).message);
          }
        },
        (text) => result.fail(text),
      ),
      result.el,
    );
    panel.querySelector<HTMLElement>("input")?.focus();
  };

  const rollPanel = (k: AdminListedKey) => {
    const result = resultLine("key-roll-result");
    const grace = input("roll-grace", { type: "number", min: 0, max: 31_536_000, step: 1, placeholder: "server default" });
    const shown = h("div", { id: "roll-secret", class: "result" });
    const form = h(
      "form",
      { id: "roll-key", class: "inline" },
      field("Old secret keeps working for (seconds; 0 = stops at once)", grace),
      h("button", { type: "submit" }, "Roll key"),
      button("Cancel", { id: "roll-cancel" }, () => clear(panel)),
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const submit = form.querySelector<HTMLButtonElement>("button[type=submit]")!;
      submit.disabled = true;
      try {
        const graceS = grace.value === "" ? undefined : Number(grace.value);
        if (graceS !== undefined && (!Number.isInteger(graceS) || graceS < 0)) throw new Error("The grace period must be a whole number of seconds, 0 or more.");
        const made = await api<KeyRolled>("POST", `/api/auth/api-keys/${encodeURIComponent(k.id)}/roll`, graceS === undefined ? {} : { grace_s: graceS });
        result.ok(`Key "${made.name}" rolled; the old secret works until ${when(made.previous_key_expires_at)}.`);
        clear(shown, secretBox(`New secret of "${made.name}"`, made.key, "Copy it now: it is shown once. The key's id, limits and usage stay."));
        await reload();
      } catch (e) {
        result.fail((e as Error).message);
      } finally {
        submit.disabled = false;
      }
    });
    clear(panel, h("h3", {}, `Roll "${k.name}" (${k.start}…)`), h("div", { class: "form-row" }, form, shown), result.el);
    grace.focus();
  };

  const revoke = async (k: AdminListedKey) => {
    if (!(await confirmAction(`Revoke the key "${k.name}"? Requests with it are refused at once.`, "Revoke"))) return;
    try {
      await api("DELETE", `/api/auth/api-keys/${encodeURIComponent(k.id)}`);
      status.ok(`Key "${k.name}" revoked.`);
      await reload();
    } catch (e) {
      status.fail((e as Error).message);
    }
  };

  const filters = h(
    "form",
    { id: "key-filters", class: "toolbar", role: "search" },
    field("Search", q),
    field("Level", level),
    field("Environment", environment),
    field("Status", state),
    h("button", { type: "submit" }, "Search"),
  );
  filters.addEventListener("submit", (ev) => {
    ev.preventDefault();
    offset = 0;
    void reload();
  });
  for (const s of [level, environment, state])
    s.addEventListener("change", () => {
      offset = 0;
      void reload();
    });

  clear(
    root,
    h("h2", {}, "API keys"),
    h("h3", {}, "Create a key"),
    keyCreateForm(users, async () => {
      offset = 0;
      await reload();
    }),
    h("h3", {}, "All keys"),
    filters,
    status.el,
    list,
    panel,
  );
  await Promise.all([reload(), loadKeyUsage()]);
  render();
}
