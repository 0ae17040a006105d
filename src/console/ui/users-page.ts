import { api, currentUser, qs } from "./api";
import { clear, field, h, input, pager, select, table, when } from "./dom";
import { wireForm } from "./forms";
import { userDetail } from "./user-detail";
import type { AdminUser } from "./users-data";
import type { CreatedUser, UsersResponse } from "../../identity/model";

const PAGE = 20;
// Typing in the search box asks the server once the typing pauses, not once per key.
const SEARCH_DELAY_MS = 250;

/** Users, searched and paged by the server (GET /api/auth/users?q=&limit=&offset=). */
export async function usersPage(root: HTMLElement): Promise<void> {
  const search = input("search", { type: "search", placeholder: "Search name, email, username, id…", "aria-label": "Search users" });
  const list = h("div", { id: "user-list", "aria-live": "polite" });
  const detail = h("section", { id: "user-detail", class: "panel", hidden: true, "aria-label": "Selected user" });
  let offset = 0;
  let selected: string | undefined;
  // Answers may arrive out of order while someone types: only the latest request renders.
  let generation = 0;

  const load = async (o = offset) => {
    const mine = ++generation;
    const answer = await api<UsersResponse>("GET", `/api/auth/users${qs({ q: search.value.trim(), limit: PAGE, offset: o })}`);
    if (mine !== generation) return;
    offset = o;
    clear(
      list,
      table(
        ["Name", "Email", "Role", "Status", "Created", ""],
        answer.users,
        (u) => [
          u.name,
          u.email,
          u.role,
          u.disabled ? `disabled ${when(u.disabled_at)}` : "active",
          when(u.created_at),
          h("button", { type: "button", "data-user": u.id, "aria-label": `Manage ${u.email}`, onclick: () => void openUser(u) }, "Manage"),
        ],
        search.value.trim() ? "No users match." : "No users yet.",
      ),
      pager(answer.count, offset, PAGE, (x) => void load(x).catch(showError)),
    );
  };
  const showError = (e: unknown) => clear(list, h("p", { class: "notice error", role: "alert" }, (e as Error).message));

  /** The selected user as the server has them now (after a change), by id. */
  const fresh = async (id: string): Promise<AdminUser | undefined> => {
    const answer = await api<UsersResponse>("GET", `/api/auth/users${qs({ q: id, limit: 5 })}`);
    return answer.users.find((u) => u.id === id);
  };
  const listOnly = async () => {
    await load();
  };
  const refresh = async (notice?: string) => {
    await load();
    if (!selected) return;
    const u = await fresh(selected);
    if (u) await userDetail(detail, u, refresh, listOnly, notice);
  };
  const openUser = async (u: AdminUser) => {
    selected = u.id;
    detail.hidden = false;
    await userDetail(detail, u, refresh, listOnly);
    detail.querySelector<HTMLElement>("h3")?.focus();
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => void load(0).catch(showError), SEARCH_DELAY_MS);
  });

  clear(
    root,
    h("h2", {}, "Users"),
    createUserSection(refresh, (id) => (selected = id)),
    ownPasswordSection(),
    h("div", { class: "toolbar" }, search),
    list,
    detail,
  );
  await load(0);
}

function createUserSection(refresh: () => Promise<void>, select_: (id: string) => void): HTMLElement {
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
  const form = h(
    "form",
    { id: "create-user", class: "inline" },
    field("Email", email),
    field("Name", name),
    field("Password", password),
    field("Role", role),
    h("button", { type: "submit" }, "Create user"),
  );
  wireForm(
    form,
    async () => {
      const made = await api<CreatedUser>("POST", "/api/auth/users", { email: email.value, name: name.value, password: password.value, role: role.value });
      return { value: made, message: `Created user ${made.email}.` };
    },
    {
      after: async (made) => {
        select_(made.id);
        await refresh();
      },
    },
  );
  return h("details", { id: "create-user-details" }, h("summary", {}, "Create a user"), form);
}

/** The signed-in admin's own password: the current one is required; other sessions end. */
function ownPasswordSection(): HTMLElement {
  const me = currentUser();
  const current = input("current-password", { type: "password", required: true, autocomplete: "current-password" });
  const next = input("new-password", { type: "password", required: true, autocomplete: "new-password", minlength: 8 });
  const form = h(
    "form",
    { id: "own-password", class: "inline" },
    // A hidden username lets password managers file the new password under the right account.
    h("input", { type: "email", name: "username", autocomplete: "username", value: me?.email ?? "", hidden: true, tabindex: -1, "aria-hidden": "true" }),
    field("Current password", current),
    field("New password", next),
    h("button", { type: "submit" }, "Change my password"),
  );
  wireForm(form, async () => {
    const answer = await api<{ message: string; other_sessions_ended: number }>("POST", "/api/auth/me/password", {
      current_password: current.value,
      new_password: next.value,
    });
    const n = answer.other_sessions_ended;
    return `Your password is changed. ${n === 0 ? "No other session was signed in" : `${n} other session${n === 1 ? " was" : "s were"} signed out`}; this one stays signed in.`;
  });
  return h("details", { id: "own-password-details" }, h("summary", {}, `Change my password (${me?.email ?? "you"})`), form);
}
