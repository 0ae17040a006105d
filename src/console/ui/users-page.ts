import { api, qs } from "./api";
import { clear, confirmAction, field, h, input, notice, pageOf, pager, select, table, when } from "./dom";
import { wireForm } from "./forms";
import { ownQuotas, quotaForm, quotaText } from "./rate-limit";
import { loadUsers, matches, type AdminUser } from "./users-data";
import type { Balance, LedgerPage } from "../../credits/model";
import type { CreatedUser } from "../../identity/model";

const PAGE = 20;
const LEDGER_PAGE = 10;

export async function usersPage(root: HTMLElement): Promise<void> {
  const status = notice();
  const search = input("search", { type: "search", placeholder: "Search name, email, id…", "aria-label": "Search users" });
  const list = h("div", { id: "user-list" });
  const detail = h("section", { id: "user-detail", class: "panel", hidden: true });
  let users: AdminUser[] = [];
  let offset = 0;
  let selected: string | undefined;

  const render = () => {
    const found = users.filter((u) => matches(u, search.value));
    if (offset >= found.length) offset = Math.max(0, Math.floor((found.length - 1) / PAGE) * PAGE);
    clear(
      list,
      table(
        ["Name", "Email", "Role", "Status", "Created", ""],
        pageOf(found, offset, PAGE),
        (u) => [
          u.name,
          u.email,
          u.role,
          u.disabled ? `disabled ${when(u.disabled_at)}` : "active",
          when(u.created_at),
          h("button", { type: "button", "data-user": u.id, onclick: () => openUser(u.id) }, "Manage"),
        ],
        "No users match.",
      ),
      pager(found.length, offset, PAGE, (o) => {
        offset = o;
        render();
      }),
    );
  };
  const reload = async () => {
    users = await loadUsers();
    render();
    if (selected) openUser(selected);
  };
  search.addEventListener("input", () => {
    offset = 0;
    render();
  });

  const openUser = (id: string) => {
    const u = users.find((x) => x.id === id);
    if (!u) return;
    selected = id;
    detail.hidden = false;
    void userDetail(detail, u, status, reload);
  };

  const email = input("email", { type: "email", required: true, autocomplete: "off" });
  const name = input("name", { maxlength: 200 });
  const password = input("password", { type: "password", required: true, autocomplete: "new-password" });
  const role = select(
    "role",
    [
      ["user", "user"],
      ["admin", "admin"],
    ],
    "user",
  );
  const createForm = h(
    "form",
    { id: "create-user", class: "inline" },
    field("Email", email),
    field("Name", name),
    field("Password", password),
    field("Role", role),
    h("button", { type: "submit" }, "Create user"),
  );
  wireForm(
    createForm,
    async () => {
      const made = await api<CreatedUser>("POST", "/api/auth/users", { email: email.value, name: name.value, password: password.value, role: role.value });
      return { value: made, message: `Created user ${made.email}.` };
    },
    {
      after: async (made) => {
        selected = made.id;
        await reload();
      },
    },
  );

  clear(
    root,
    h("h2", {}, "Users"),
    status.el,
    h("details", { id: "create-user-details" }, h("summary", {}, "Create a user"), createForm),
    h("div", { class: "toolbar" }, search),
    list,
    detail,
  );
  await reload();
}

async function userDetail(panel: HTMLElement, u: AdminUser, status: ReturnType<typeof notice>, reload: () => Promise<void>): Promise<void> {
  const act = async (what: () => Promise<unknown>, ok: string) => {
    try {
      await what();
      status.ok(ok);
      await reload();
    } catch (e) {
      status.fail((e as Error).message);
    }
  };
  const patch = (body: Record<string, unknown>) => api("PATCH", `/api/auth/users/${encodeURIComponent(u.id)}`, body);

  const role = select(
    "role",
    [
      ["user", "user"],
      ["admin", "admin"],
    ],
    u.role,
  );
  const roleForm = h("form", { class: "inline", id: "role-form" }, field("Role", role), h("button", { type: "submit" }, "Change role"));
  roleForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void act(() => patch({ role: role.value }), `Role of ${u.email} is now ${role.value}.`);
  });

  // API keys outlive a password reset unless revoked too: after a suspected compromise, tick it.
  const pw = input("new-password", { type: "password", autocomplete: "new-password", required: true });
  const pwKeys = input("revoke-api-keys", { type: "checkbox" });
  const pwForm = h(
    "form",
    { class: "inline", id: "password-form" },
    field("New password", pw),
    h("label", {}, pwKeys, " Also revoke their API keys"),
    h("button", { type: "submit" }, "Reset password"),
  );
  pwForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const revokeKeys = pwKeys.checked;
    const done = `Password of ${u.email} reset; their sessions have ended${revokeKeys ? " and their API keys are revoked" : ""}.`;
    void act(() => patch(revokeKeys ? { password: pw.value, revoke_api_keys: true } : { password: pw.value }), done);
  });

  const toggle = h("button", { type: "button", class: u.disabled ? "" : "danger", id: "toggle-disabled" }, u.disabled ? "Enable user" : "Disable user");
  toggle.addEventListener("click", async () => {
    const disabling = !u.disabled;
    const question = `Disable ${u.email}? Their sessions and API tokens end at once; their API keys are refused until they are enabled again.`;
    if (disabling && !(await confirmAction(question, "Disable"))) return;
    void act(() => patch({ disabled: disabling }), `${u.email} is now ${disabling ? "disabled" : "enabled"}.`);
  });
  const revokeKeys = h("button", { type: "button", class: "danger", id: "revoke-api-keys" }, "Revoke all API keys");
  revokeKeys.addEventListener("click", async () => {
    if (!(await confirmAction(`Revoke every API key of ${u.email}? Integrations using them stop working for good.`, "Revoke keys"))) return;
    void act(() => patch({ revoke_api_keys: true }), `Every API key of ${u.email} is revoked.`);
  });

  // The user's own limit, or the default (RATE_LIMIT_USER) that applies without one.
  const limitBox = h("div", { id: "user-limit" });
  const loadLimit = async () => {
    try {
      const { own, defaults } = await ownQuotas("user", [u.id]);
      const mine = own.get(u.id) ?? null;
      const applies = mine ? `Own limit: ${quotaText(mine)}.` : `No limit of their own; the default applies: ${quotaText(defaults?.user)}.`;
      clear(
        limitBox,
        h("p", { id: "user-limit-text" }, applies, ` Predictions and question streams count ${defaults?.predict_cost ?? "?"} each.`),
        quotaForm(
          "user-limit-form",
          mine,
          async (q) => {
            try {
              await patch({ rate_limit: q });
              status.ok(q ? `${u.email} is limited to ${quotaText(q)}.` : `${u.email} has no limit of their own now.`);
              await loadLimit();
            } catch (e) {
              status.fail((e as Error).message);
            }
          },
          (text) => status.fail(text),
        ),
      );
    } catch (e) {
      clear(limitBox, h("p", { class: "notice error" }, (e as Error).message));
    }
  };

  const balance = h("strong", { id: "balance" }, "…");
  const amount = input("amount", { type: "number", step: 1, required: true });
  const reason = input("reason", { required: true, maxlength: 500 });
  const grantForm = h("form", { class: "inline", id: "grant-form" }, field("Amount", amount), field("Reason", reason), h("button", { type: "submit" }, "Grant credits"));
  const ledger = h("div", { id: "ledger" });
  const loadCredits = async (offset = 0) => {
    try {
      const b = await api<Balance>("GET", `/api/admin/users/${encodeURIComponent(u.id)}/credits`);
      balance.textContent = String(b.credits_remaining);
      const page = await api<LedgerPage>("GET", `/api/admin/users/${encodeURIComponent(u.id)}/credits/ledger${qs({ limit: LEDGER_PAGE, offset })}`);
      clear(
        ledger,
        table(
          ["When", "Change", "Kind", "Reason"],
          page.entries,
          (e) => [when(e.created_at), e.delta > 0 ? `+${e.delta}` : String(e.delta), e.kind, e.reason],
          "No ledger entries.",
        ),
        pager(page.count, offset, LEDGER_PAGE, (o) => void loadCredits(o)),
      );
    } catch (e) {
      clear(ledger, h("p", { class: "notice error" }, (e as Error).message));
    }
  };
  grantForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const b = await api<Balance>("POST", `/api/admin/users/${encodeURIComponent(u.id)}/credits`, { amount: Number(amount.value), reason: reason.value });
      status.ok(`Credits of ${u.email}: ${b.credits_remaining}.`);
      grantForm.reset();
      await loadCredits();
    } catch (e) {
      status.fail((e as Error).message);
    }
  });

  clear(
    panel,
    h("h3", {}, `${u.name || "(no name)"} — ${u.email}`),
    h("p", { class: "muted" }, `id ${u.id} · customer ${u.customer_id} · ${u.username ? `username ${u.username} · ` : ""}created ${when(u.created_at)}`),
    roleForm,
    pwForm,
    h("div", { class: "toolbar" }, toggle, revokeKeys),
    h("h4", {}, "Rate limit"),
    limitBox,
    h("h4", {}, "Credits"),
    h("p", {}, "Balance: ", balance),
    grantForm,
    h("h4", {}, "Recent ledger entries"),
    ledger,
  );
  await Promise.all([loadCredits(), loadLimit()]);
}
