import { api, qs } from "./api";
import { clear, confirmAction, field, h, input, pageOf, pager, secretBox, table, when } from "./dom";
import { action, resultLine, wireForm } from "./forms";
import { loadUsers, userPicker, type AdminUser } from "./users-data";
import type { ApiTokenList, ApiTokenView, IssueResponse } from "../../admin-tokens/model";

const PAGE = 20;

/** The contract's generate form (user, optional expiration, and a description) and the list with revoke. */
export async function tokensPage(root: HTMLElement): Promise<void> {
  const users = await loadUsers();
  const byId = new Map<string, AdminUser>(users.map((u) => [u.id, u]));
  const picker = userPicker(users, "token-user");
  const description = input("token-description", { maxlength: 200, placeholder: "e.g. billing export" });
  const expiration = input("expiration", { type: "datetime-local", "aria-label": "Expiration (optional)" });
  const shown = h("div", { id: "token-result" });
  const form = h(
    "form",
    { id: "generate-token", class: "inline" },
    field("User", picker.el),
    field("Description (what it is for)", description),
    field("Expiration (optional, your local time)", expiration),
    h("button", { type: "submit" }, "Generate token"),
  );
  const filter = userPicker(users, "token-filter", "— all users —");
  const list = h("div", { id: "token-list" });
  const listResult = resultLine("token-list-result");
  let rows: ApiTokenView[] = [];
  let offset = 0;

  const describeButton = (r: ApiTokenView) => {
    const b = h("button", { type: "button", "data-describe-token": r.id, "aria-label": `Edit the description of the token of ${who(r)}` }, "Edit");
    b.addEventListener("click", () => editDescription(r));
    return b;
  };
  const who = (r: ApiTokenView) => byId.get(r.userId)?.email ?? r.userId;
  const render = () => {
    clear(
      list,
      table(
        ["User", "Description", "Created", "Expires", "Last used", "State", ""],
        pageOf(rows, offset, PAGE),
        (r) => {
          const revoke = h("button", { type: "button", class: "danger", "data-revoke-token": r.id }, "Revoke");
          action(
            revoke,
            async () => {
              if (!(await confirmAction(`Revoke this API token of ${who(r)}? Anything using it stops working at once.`, "Revoke"))) return undefined;
              await api("DELETE", `/api/admin/tokens/${encodeURIComponent(r.id)}`);
              await reload();
              return `Token of ${who(r)} revoked.`;
            },
            listResult,
          );
          return [
            who(r),
            h("span", { "data-token-description": r.id }, r.description ?? "—"),
            when(r.createdAt),
            r.expiresAt ? when(r.expiresAt) : "never",
            when(r.lastUsedAt),
            r.revokedAt ? `revoked ${when(r.revokedAt)}` : r.active ? "active" : "expired",
            h("span", { class: "row-actions" }, describeButton(r), r.revokedAt ? null : revoke),
          ];
        },
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
      const answer = await api<ApiTokenList>("GET", `/api/admin/tokens${qs({ userId: filter.value(), limit: 1000 })}`);
      rows = answer.tokens;
      render();
    } catch (e) {
      listResult.fail((e as Error).message);
    }
  };
  /** An inline form in place of the description cell. */
  const editDescription = (r: ApiTokenView) => {
    const cell = list.querySelector<HTMLElement>(`[data-token-description="${CSS.escape(r.id)}"]`);
    if (!cell) return;
    const text = input("description", { maxlength: 200, value: r.description ?? "", "aria-label": `Description of the token of ${who(r)}` });
    const edit = h("form", { class: "inline", id: `describe-${r.id}` }, text, h("button", { type: "submit" }, "Save"));
    wireForm(
      edit,
      async () => {
        const saved = await api<ApiTokenView>("PATCH", `/api/admin/tokens/${encodeURIComponent(r.id)}`, { description: text.value.trim() || null });
        return { value: saved, message: saved.description ? `Description saved: ${saved.description}.` : "Description cleared." };
      },
      {
        resetOnSuccess: false,
        result: listResult,
        after: async () => {
          await reload();
        },
      },
    );
    clear(cell, edit);
    text.focus();
  };
  filter.select.addEventListener("change", () => {
    offset = 0;
    void reload();
  });

  wireForm(
    form,
    async () => {
      clear(shown);
      if (!picker.value()) throw new Error("Choose the user the token is for.");
      // datetime-local is the operator's local time; the API takes ISO-8601 (UTC), as the contract's form sends.
      const exp = expiration.value ? new Date(expiration.value) : null;
      if (exp && Number.isNaN(exp.getTime())) throw new Error("The expiration is not a valid date.");
      const answer = await api<IssueResponse>("POST", "/api/admin/tokens", {
        userId: picker.value(),
        expiration: exp ? exp.toISOString() : null,
        description: description.value.trim() || null,
      });
      clear(shown, secretBox(`API token for ${answer.name}`, answer.token, "Copy it now: it is shown only once and cannot be read back."));
      return `Token generated for ${answer.name}.`;
    },
    { after: reload },
  );

  clear(
    root,
    h("h2", {}, "API tokens"),
    h("h3", {}, "Generate a token"),
    form,
    shown,
    h("h3", {}, "Issued tokens"),
    h("div", { class: "toolbar" }, filter.el),
    listResult.el,
    list,
  );
  await reload();
}
