import { api, qs } from "./api";
import { clear, confirmAction, field, h, input, notice, pageOf, pager, secretBox, select, table, when } from "./dom";
import { ownQuotas, quotaForm, quotaInputs, quotaText, type Defaults, type Quota } from "./rate-limit";
import { loadUsers, userPicker } from "./users-data";
import type { KeyCreated, ListedKey } from "../../keys/model";

const PAGE = 20;

export async function keysPage(root: HTMLElement): Promise<void> {
  const status = notice();
  const users = await loadUsers();
  const name = input("key-name", { required: true, maxlength: 200 });
  const owner = userPicker(users, "key-user");
  const level = select(
    "level",
    [
      ["read", "read"],
      ["write", "write"],
      ["admin", "admin"],
    ],
    "read",
  );
  const environment = select(
    "environment",
    [
      ["live", "live"],
      ["test", "test"],
    ],
    "live",
  );
  const domains = input("allowed-domains", { placeholder: "example.com, *.example.org" });
  const expiry = input("key-expiry", { type: "datetime-local" });
  const quota = quotaInputs("key-rate");
  const shown = h("div", { id: "key-result" });
  const form = h(
    "form",
    { id: "create-key", class: "inline" },
    field("Name", name),
    field("User", owner.el),
    field("Level", level),
    field("Environment", environment),
    field("Allowed domains (comma-separated, empty = any)", domains),
    field("Expires (optional, local time)", expiry),
    ...quota.fields,
    h("button", { type: "submit" }, "Create key"),
  );
  const listOwner = userPicker(users, "keys-of", "— choose whose keys to list —");
  const list = h("div", { id: "key-list" });
  const limitPanel = h("div", { id: "key-limit" });
  let rows: ListedKey[] = [];
  let offset = 0;
  let own = new Map<string, Quota>();
  let defaults: Defaults | undefined;
  const limitText = (k: ListedKey) => {
    const q = own.get(k.id);
    if (q) return quotaText(q);
    return defaults?.user ? `owner's (default ${quotaText(defaults.user)})` : "owner's";
  };
  const editLimit = (k: ListedKey) => {
    clear(
      limitPanel,
      h("h4", {}, `Rate limit of "${k.name}" (${k.start}…)`),
      h("p", { class: "muted" }, "Without one of its own, only its owner's limit applies; with one, both apply."),
      quotaForm(
        "key-limit-form",
        own.get(k.id) ?? null,
        async (q) => {
          try {
            await api("PATCH", `/api/auth/api-keys/${encodeURIComponent(k.id)}`, { rate_limit: q });
            status.ok(q ? `Key "${k.name}" is limited to ${quotaText(q)}.` : `Key "${k.name}" has no limit of its own now.`);
            clear(limitPanel);
            await reload();
          } catch (e) {
            status.fail((e as Error).message);
          }
        },
        (text) => status.fail(text),
      ),
    );
  };

  const render = () => {
    clear(
      list,
      table(
        ["Name", "Key starts", "Level", "Env", "Domains", "Rate limit", "Created", "Expires", "Last used", "State", ""],
        pageOf(rows, offset, PAGE),
        (k) => [
          k.name,
          k.start,
          k.level,
          k.environment,
          k.allowed_domains.length ? k.allowed_domains.join(", ") : "any",
          h("span", {}, limitText(k), " ", h("button", { type: "button", class: "secondary", "data-limit-key": k.id, onclick: () => editLimit(k) }, "Change")),
          when(k.created_at),
          k.expires_at ? when(k.expires_at) : "never",
          when(k.last_used_at),
          k.revoked_at ? `revoked ${when(k.revoked_at)}` : "active",
          k.revoked_at ? "" : h("button", { type: "button", class: "danger", "data-revoke-key": k.id, onclick: () => void revoke(k) }, "Revoke"),
        ],
        "No keys for this user.",
      ),
      pager(rows.length, offset, PAGE, (o) => {
        offset = o;
        render();
      }),
    );
  };
  const reload = async () => {
    if (!listOwner.value()) return clear(list, h("p", { class: "muted" }, "Choose a user to see their keys."));
    try {
      rows = await api<ListedKey[]>("GET", `/api/auth/api-keys${qs({ user_id: listOwner.value() })}`);
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
  const revoke = async (k: ListedKey) => {
    if (!(await confirmAction(`Revoke the key "${k.name}"? Requests with it are refused at once.`, "Revoke"))) return;
    try {
      await api("DELETE", `/api/auth/api-keys/${encodeURIComponent(k.id)}`);
      status.ok(`Key "${k.name}" revoked.`);
      await reload();
    } catch (e) {
      status.fail((e as Error).message);
    }
  };
  listOwner.select.addEventListener("change", () => {
    offset = 0;
    void reload();
  });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clear(shown);
    if (!owner.value()) return status.fail("Choose the user the key belongs to.");
    const exp = expiry.value ? new Date(expiry.value) : null;
    if (exp && Number.isNaN(exp.getTime())) return status.fail("The expiry is not a valid date.");
    const allowed = domains.value
      .split(",")
      .map((d) => d.trim())
      .filter(Boolean);
    const rateLimit = quota.read();
    if (typeof rateLimit === "string") return status.fail(rateLimit);
    try {
      const made = await api<KeyCreated>("POST", "/api/auth/api-keys", {
        name: name.value,
        user_id: owner.value(),
        level: level.value,
        environment: environment.value,
        allowed_domains: allowed,
        expires_at: exp ? exp.toISOString() : null,
        ...(rateLimit ? { rate_limit: rateLimit } : {}),
      });
      status.ok(`Key "${made.name}" created.`);
      clear(shown, secretBox(`API key "${made.name}"`, made.key, "Copy it now: only its first characters are kept readable."));
      listOwner.select.value = owner.value();
      form.reset();
      await reload();
    } catch (e) {
      status.fail((e as Error).message);
    }
  });

  clear(
    root,
    h("h2", {}, "API keys"),
    status.el,
    h("h3", {}, "Create a key"),
    form,
    shown,
    h("h3", {}, "Keys by user"),
    h("div", { class: "toolbar" }, listOwner.el),
    list,
    limitPanel,
  );
  await reload();
}
