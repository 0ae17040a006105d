import { api, qs } from "./api";
import { clear, confirmAction, field, h, input, notice, pager, table, when } from "./dom";
import { action, wireForm } from "./forms";
import { loadUsers, userPicker, type AdminUser } from "./users-data";
import type { AdminChatflow, AdminChatflowList, GrantedUsers, SyncResult } from "../../chatflows/model";

/** "a, b ,c" → ["a", "b", "c"]; empty entries dropped. */
const keyList = (text: string) =>
  text
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");

const PAGE = 20;

type Granted = GrantedUsers["users"][number];

export async function chatflowsPage(root: HTMLElement): Promise<void> {
  const status = notice();
  const users = await loadUsers();
  const list = h("div", { id: "chatflow-list" });
  const access = h("section", { id: "chatflow-users", class: "panel", hidden: true });
  let offset = 0;

  const load = async (o = offset) => {
    offset = o;
    try {
      const page = await api<AdminChatflowList>("GET", `/api/admin/chatflows${qs({ limit: PAGE, offset })}`);
      clear(
        list,
        table(["Name", "Id", "Cost", "Enabled", "overrideConfig keys", "Users", "Synced", ""], page.chatflows, row, "No chatflows: sync them from Flowise."),
        pager(page.count, offset, PAGE, (x) => void load(x)),
      );
    } catch (e) {
      status.fail((e as Error).message);
    }
  };

  const row = (c: AdminChatflow) => {
    const cost = input("cost", { type: "number", min: 0, step: 1, value: c.cost, class: "narrow", "aria-label": `Cost of ${c.name}` });
    const enabled = input("enabled", { type: "checkbox", "aria-label": `${c.name} enabled` });
    enabled.checked = c.enabled;
    // Unticked: the chatflow follows the server's FLOWISE_OVERRIDE_ALLOW (override_allow null).
    const ownList = input("own-overrides", { type: "checkbox", "aria-label": `${c.name} has its own override list` });
    ownList.checked = c.override_allow !== null;
    const keys = input("override-allow", {
      value: (c.override_allow ?? []).join(", "),
      placeholder: "global list",
      "aria-label": `overrideConfig keys of ${c.name}`,
    });
    keys.disabled = !ownList.checked;
    ownList.addEventListener("change", () => (keys.disabled = !ownList.checked));
    const saveButton = h("button", { type: "button", "aria-label": `Save ${c.name}` }, "Save");
    action(
      saveButton,
      async () => {
        const overrideAllow = ownList.checked ? keyList(keys.value) : null;
        await api("PATCH", `/api/admin/chatflows/${encodeURIComponent(c.id)}`, { cost: Number(cost.value), enabled: enabled.checked, override_allow: overrideAllow });
        const overrides = overrideAllow === null ? "global list" : overrideAllow.length ? overrideAllow.join(", ") : "none";
        await load();
        return `Saved ${c.name}: cost ${cost.value}, ${enabled.checked ? "enabled" : "disabled"}, overrides: ${overrides}.`;
      },
      status,
    );
    const deleteButton = h("button", { type: "button", class: "danger", "data-delete-chatflow": c.id, "aria-label": `Delete ${c.name}` }, "Delete");
    action(
      deleteButton,
      async () => {
        const question = `Delete the chatflow ${c.name}? Its ${c.user_count} grant(s) go with it; a later sync from Flowise brings it back (cost 1, enabled).`;
        if (!(await confirmAction(question, "Delete"))) return undefined;
        await api("DELETE", `/api/admin/chatflows/${encodeURIComponent(c.id)}`);
        if (access.dataset.chatflow === c.id) access.hidden = true;
        await load();
        return `Deleted ${c.name}.`;
      },
      status,
    );
    return [
      c.name,
      h("code", {}, c.id),
      cost,
      enabled,
      h("span", { class: "overrides" }, ownList, keys),
      String(c.user_count),
      when(c.synced_at),
      h("span", { class: "row-actions" }, saveButton, h("button", { type: "button", onclick: () => void showUsers(c) }, "Users"), deleteButton),
    ];
  };

  const showUsers = async (c: AdminChatflow) => {
    access.hidden = false;
    access.dataset.chatflow = c.id;
    const picker = userPicker(users, "grant-user");
    const grantList = h("div", {});
    const refresh = async () => {
      try {
        const answer = await api<GrantedUsers>("GET", `/api/admin/chatflows/${encodeURIComponent(c.id)}/users`);
        clear(
          grantList,
          table(
            ["User", "Granted", ""],
            answer.users,
            (g) => [`${g.name} <${g.email}>`, when(g.granted_at), h("button", { type: "button", class: "danger", onclick: () => void withdraw(g) }, "Withdraw")],
            "Only admins may use it (no grants).",
          ),
        );
      } catch (e) {
        clear(grantList, h("p", { class: "notice error" }, (e as Error).message));
      }
    };
    const withdraw = async (g: Granted | AdminUser) => {
      if (!(await confirmAction(`Withdraw ${g.email}'s access to ${c.name}?`, "Withdraw"))) return;
      try {
        await api("DELETE", `/api/admin/chatflows/${encodeURIComponent(c.id)}/users/${encodeURIComponent(g.id)}`);
        status.ok(`${g.email} may no longer use ${c.name}.`);
        await Promise.all([refresh(), load()]);
      } catch (e) {
        status.fail((e as Error).message);
      }
    };
    const form = h("form", { class: "inline" }, picker.el, h("button", { type: "submit" }, "Grant access"));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!picker.value()) return status.fail("Choose a user to grant.");
      try {
        await api("PUT", `/api/admin/chatflows/${encodeURIComponent(c.id)}/users/${encodeURIComponent(picker.value())}`);
        status.ok(`Access to ${c.name} granted.`);
        await Promise.all([refresh(), load()]);
      } catch (e) {
        status.fail((e as Error).message);
      }
    });
    clear(access, h("h3", {}, `Who may use ${c.name}`), h("p", { class: "muted" }, "Admins may use every enabled chatflow; others need a grant."), form, grantList);
    await refresh();
  };

  const sync = h("button", { type: "button", id: "sync-chatflows" }, "Sync from Flowise");
  sync.addEventListener("click", async () => {
    sync.disabled = true;
    try {
      const r = await api<SyncResult>("POST", "/api/admin/chatflows/sync");
      status.ok(`Synced: ${r.created} new, ${r.updated} updated, ${r.total} in Flowise.`);
      await load(0);
    } catch (e) {
      status.fail((e as Error).message);
    } finally {
      sync.disabled = false;
    }
  });

  // Register a chatflow by hand (when Flowise cannot be reached for a sync, or only some are wanted).
  const newId = input("chatflow-id", { required: true, placeholder: "Flowise chatflow id (UUID)", autocomplete: "off" });
  const newName = input("chatflow-name", { required: true, maxlength: 200 });
  const newCost = input("chatflow-cost", { type: "number", min: 0, step: 1, value: 1, class: "narrow" });
  const newEnabled = input("chatflow-enabled", { type: "checkbox", checked: true });
  const newKeys = input("chatflow-overrides", { placeholder: "empty: the global list" });
  const addForm = h(
    "form",
    { id: "add-chatflow", class: "inline" },
    field("Id", newId),
    field("Name", newName),
    field("Cost", newCost),
    field("overrideConfig keys (comma-separated)", newKeys),
    h("label", {}, newEnabled, " Enabled"),
    h("button", { type: "submit" }, "Add chatflow"),
  );
  wireForm(
    addForm,
    async () => {
      const overrides = keyList(newKeys.value);
      const made = await api<AdminChatflow>("POST", "/api/admin/chatflows", {
        id: newId.value.trim(),
        name: newName.value,
        cost: Number(newCost.value),
        enabled: newEnabled.checked,
        override_allow: overrides.length ? overrides : null,
      });
      return `Added ${made.name} (cost ${made.cost}, ${made.enabled ? "enabled" : "disabled"}).`;
    },
    { after: () => load(0) },
  );

  clear(
    root,
    h("h2", {}, "Chatflows"),
    status.el,
    h("details", { id: "add-chatflow-details" }, h("summary", {}, "Add a chatflow"), addForm),
    h("div", { class: "toolbar" }, sync),
    list,
    access,
  );
  await load(0);
}
