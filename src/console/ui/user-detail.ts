// One user's panel: account actions, rate limit, credits and ledger, and (user-activity.ts) their
// usage over time, API keys and API tokens. Each form reports beside itself (forms.ts).
import { api, qs } from "./api";
import { clear, confirmAction, field, h, input, pager, select, table, when } from "./dom";
import { action, resultLine, wireForm } from "./forms";
import { ownQuotas, quotaForm, quotaText } from "./rate-limit";
import { userActivity } from "./user-activity";
import type { AdminUser } from "./users-data";
import type { Balance, LedgerPage } from "../../credits/model";

const LEDGER_PAGE = 10;

/**
 * `refresh` redraws the list and this panel (after an action whose buttons change), showing
 * `notice` in the new panel's account result: one written into this panel would vanish with it.
 * `refreshList` redraws only the list, so a change of role keeps what is typed in the other forms.
 */
export async function userDetail(
  panel: HTMLElement,
  u: AdminUser,
  refresh: (notice?: string) => Promise<void>,
  refreshList: () => Promise<void> = refresh,
  notice?: string,
): Promise<void> {
  const patch = (body: Record<string, unknown>) => api("PATCH", `/api/auth/users/${encodeURIComponent(u.id)}`, body);
  const after = { resetOnSuccess: false, after: refreshList };

  const role = select(
    "role",
    [
      ["user", "user"],
      ["admin", "admin"],
    ],
    u.role,
  );
  const roleForm = h("form", { class: "inline", id: "role-form" }, field("Role", role), h("button", { type: "submit" }, "Change role"));
  wireForm(
    roleForm,
    async () => {
      await patch({ role: role.value });
      return `Role of ${u.email} is now ${role.value}.`;
    },
    after,
  );

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
  wireForm(pwForm, async () => {
    const revokeKeys = pwKeys.checked;
    await patch(revokeKeys ? { password: pw.value, revoke_api_keys: true } : { password: pw.value });
    return `Password of ${u.email} reset; their sessions have ended${revokeKeys ? " and their API keys are revoked" : ""}.`;
  });

  const accountResult = resultLine("account-result");
  if (notice) accountResult.ok(notice);
  const toggle = h("button", { type: "button", class: u.disabled ? "" : "danger", id: "toggle-disabled" }, u.disabled ? "Enable user" : "Disable user");
  action(
    toggle,
    async () => {
      const disabling = !u.disabled;
      const question = `Disable ${u.email}? Their sessions and API tokens end at once; their API keys are refused until they are enabled again.`;
      if (disabling && !(await confirmAction(question, "Disable"))) return undefined;
      await patch({ disabled: disabling });
      await refresh(`${u.email} is now ${disabling ? "disabled" : "enabled"}.`);
      return undefined;
    },
    accountResult,
  );
  const revokeKeys = h("button", { type: "button", class: "danger", id: "revoke-api-keys" }, "Revoke all API keys");
  action(
    revokeKeys,
    async () => {
      if (!(await confirmAction(`Revoke every API key of ${u.email}? Integrations using them stop working for good.`, "Revoke keys"))) return undefined;
      await patch({ revoke_api_keys: true });
      await refresh(`Every API key of ${u.email} is revoked.`);
      return undefined;
    },
    accountResult,
  );

  // The user's own limit, or the default (RATE_LIMIT_USER) that applies without one.
  const limitBox = h("div", { id: "user-limit" });
  const limitResult = resultLine("user-limit-result");
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
              limitResult.ok(q ? `${u.email} is limited to ${quotaText(q)}.` : `${u.email} has no limit of their own now.`);
              await loadLimit();
            } catch (e) {
              limitResult.fail((e as Error).message);
            }
          },
          (text) => limitResult.fail(text),
        ),
        limitResult.el,
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
  wireForm(
    grantForm,
    async () => {
      const b = await api<Balance>("POST", `/api/admin/users/${encodeURIComponent(u.id)}/credits`, { amount: Number(amount.value), reason: reason.value });
      return `Credits of ${u.email}: ${b.credits_remaining}.`;
    },
    { after: () => loadCredits() },
  );

  const activity = h("div", { id: "user-activity" });
  clear(
    panel,
    h("h3", { tabindex: -1 }, `${u.name || "(no name)"} — ${u.email}`),
    h("p", { class: "muted" }, `id ${u.id} · customer ${u.customer_id} · ${u.username ? `username ${u.username} · ` : ""}created ${when(u.created_at)}`),
    roleForm,
    pwForm,
    h("div", { class: "toolbar" }, toggle, revokeKeys),
    accountResult.el,
    h("h4", {}, "Rate limit"),
    limitBox,
    h("h4", {}, "Credits"),
    h("p", {}, "Balance: ", balance),
    grantForm,
    h("h4", {}, "Ledger"),
    ledger,
    activity,
  );
  await Promise.all([loadCredits(), loadLimit(), userActivity(activity, u)]);
}
