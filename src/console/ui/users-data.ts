import { api } from "./api";
import { h, input } from "./dom";
import type { AdminUserView, UsersResponse } from "../../identity/model";

export type AdminUser = AdminUserView;

// GET /api/auth/users answers a page (at most 1000) and the total. The Users page searches on the
// server (?q=); the user pickers here (key create, token issue) filter in the browser, so they load
// the first LOAD_CAP users.
const LOAD_PAGE = 1000;
const LOAD_CAP = 10_000;

export async function loadUsers(): Promise<AdminUser[]> {
  const all: AdminUser[] = [];
  for (let offset = 0; offset < LOAD_CAP; offset += LOAD_PAGE) {
    const answer = await api<UsersResponse>("GET", `/api/auth/users?limit=${LOAD_PAGE}&offset=${offset}`);
    all.push(...answer.users);
    if (answer.users.length < LOAD_PAGE || all.length >= answer.count) break;
  }
  return all;
}

function matches(u: AdminUser, q: string): boolean {
  const needle = q.trim().toLowerCase();
  if (!needle) return true;
  return [u.email, u.name, u.username ?? "", u.id, String(u.customer_id)].some((x) => x.toLowerCase().includes(needle));
}

function userLabel(u: AdminUser): string {
  return `${u.name || "(no name)"} <${u.email}>${u.disabled ? " — disabled" : ""}`;
}

/** A select of users with a filter box; `value()` is the chosen id or "". */
export function userPicker(users: AdminUser[], name = "user", allowAll?: string): { el: HTMLElement; select: HTMLSelectElement; value(): string } {
  const select = h("select", { name, "aria-label": "User" });
  const filter = input(`${name}-filter`, { type: "search", placeholder: "Filter users…", "aria-label": "Filter users" });
  const fill = () => {
    const keep = select.value;
    while (select.firstChild) select.removeChild(select.firstChild);
    select.appendChild(h("option", { value: "" }, allowAll ?? "— choose a user —"));
    for (const u of users.filter((x) => matches(x, filter.value)).slice(0, 500)) select.appendChild(h("option", { value: u.id }, userLabel(u)));
    select.value = keep;
  };
  filter.addEventListener("input", fill);
  fill();
  return { el: h("span", { class: "picker" }, filter, select), select, value: () => select.value };
}
