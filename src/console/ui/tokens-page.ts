import { api, qs } from "./api";
import { clear, confirmAction, field, h, input, notice, pageOf, pager, secretBox, table, when } from "./dom";
import { loadUsers, userPicker, type AdminUser } from "./users-data";
import type { ApiTokenList, ApiTokenView, IssueResponse } from "../../admin-tokens/model";

const PAGE = 20;

/** The contract's generate form (user, optional expiration) and the list with revoke. */
export async function tokensPage(root: HTMLElement): Promise<void> {
  const status = notice();
  const users = await loadUsers();
  const byId = new Map<string, AdminUser>(users.map((u) => [u.id, u]));
  const picker = userPicker(users, "token-user");
  const expiration = input("expiration", { type: "datetime-local", "aria-label": "Expiration (optional)" });
  const shown = h("div", { id: "token-result" });
  const form = h(
    "form",
    { id: "generate-token", class: "inline" },
    field("User", picker.el),
    field("Expiration (optional, your local time)", expiration),
    h("button", { type: "submit" }, "Generate token"),
  );
  const filter = userPicker(users, "token-filter", "— all users —");
  const list = h("div", { id: "token-list" });
  let rows: ApiTokenView[] = [];
  let offset = 0;

  const render = () => {
    clear(
      list,
      table(
        ["User", "Created", "Expires", "Last used", "State", ""],
        pageOf(rows, offset, PAGE),
        (r) => [
          byId.get(r.userId)?.email ?? r.userId,
          when(r.createdAt),
          r.expiresAt ? when(r.expiresAt) : "never",
          when(r.lastUsedAt),
          r.revokedAt ? `revoked ${when(r.revokedAt)}` : r.active ? "active" : "expired",
          r.revokedAt ? "" : h("button", { type: "button", class: "danger", "data-revoke-token": r.id, onclick: () => void revoke(r) }, "Revoke"),
        ],
        "No API tokens.",
      ),
      pager(rows.length, offset, PAGE, (o) => {
        offset = o;
        render();
      }),
    );
  };
  const reload = async () => {
    try {
      const answer = await api<ApiTokenList>("GET", `/api/admin/tokens${qs({ userId: filter.value() })}`);
      rows = answer.tokens;
      render();
    } catch (e) {
      status.fail((e as Error).message);
    }
  };
  const revoke = async (r: ApiTokenView) => {
    const who = byId.get(r.userId)?.email ?? r.userId;
    if (!(await confirmAction(`Revoke this API token of ${who}? Anything using it stops working at once.`, "Revoke"))) return;
    try {
      await api("DELETE", `/api/admin/tokens/${encodeURIComponent(r.id)}`);
      status.ok(`Token of ${who} revoked.`);
      await reload();
    } catch (e) {
      status.fail((e as Error).message);
    }
  };
  filter.select.addEventListener("change", () => {
    offset = 0;
    void reload();
  });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clear(shown);
    if (!picker.value()) return status.fail("Choose the user the token is for.");
    // datetime-local is the operator's local time; the API takes ISO-8601 (UTC), as the contract's form sends.
    const exp = expiration.value ? new Date(expiration.value) : null;
    if (exp && Number.isNaN(exp.getTime())) return status.fail("The expiration is not a valid date.");
    try {
      const answer = await api<IssueResponse>("POST", "/api/admin/tokens", { userId: picker.value(), expiration: exp ? exp.toISOString() : null });
      status.ok(`Token generated for ${answer.name}.`);
      clear(shown, secretBox(`API token for ${answer.name}`, answer.token, "Copy it now: it is shown only once and cannot be read back."));
      form.reset();
      await reload();
    } catch (e) {
      status.fail((e as Error).message);
    }
  });

  clear(root, h("h2", {}, "API tokens"), status.el, h("h3", {}, "Generate a token"), form, shown, h("h3", {}, "Issued tokens"), h("div", { class: "toolbar" }, filter.el), list);
  await reload();
}
