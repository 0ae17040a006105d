import { api, qs, type Wire } from "./api";
import { clear, h, notice, pager, select, table, when } from "./dom";
import type { ContactList, MessageList, TemplateList } from "../../messaging/model";

const PAGE = 20;

type Message = Wire<MessageList>["messages"][number];
type Template = Wire<TemplateList>["templates"][number];
type Contact = Wire<ContactList>["contacts"][number];

/** One server-paginated list section. */
function section<T>(
  title: string,
  headers: string[],
  fetchPage: (offset: number) => Promise<{ items: T[]; total: number }>,
  cells: (r: T) => Array<Node | string>,
  status: ReturnType<typeof notice>,
  extra?: HTMLElement,
) {
  const body = h("div", {});
  const load = async (offset: number) => {
    try {
      const page = await fetchPage(offset);
      clear(
        body,
        table(headers, page.items, cells),
        pager(page.total, offset, PAGE, (o) => void load(o)),
      );
    } catch (e) {
      status.fail((e as Error).message);
    }
  };
  return { el: h("section", {}, h("h3", {}, title), extra ?? null, body), load };
}

export async function messagesPage(root: HTMLElement): Promise<void> {
  const status = notice();
  const filter = select(
    "status",
    [
      ["", "all statuses"],
      ["queued", "queued"],
      ["sent", "sent"],
      ["failed", "failed"],
    ],
    "",
  );
  // A select without a visible label still needs a name (axe-core: select-name).
  filter.setAttribute("aria-label", "Show messages of status");
  const outbox = section<Message>(
    "Outbox",
    ["Created", "Recipient", "Status", "Attempts", "Next attempt", "Last error", "Text"],
    async (offset) => {
      const a = await api<Wire<MessageList>>("GET", `/api/messages${qs({ status: filter.value, limit: PAGE, offset })}`);
      return { items: a.messages, total: a.total };
    },
    (m) => [
      when(m.createdAt),
      m.recipientId,
      m.status,
      String(m.attempts),
      m.status === "queued" ? when(m.nextAttemptAt) : "—",
      m.lastError ?? "—",
      m.text.length > 80 ? `${m.text.slice(0, 80)}…` : m.text,
    ],
    status,
    h("div", { class: "toolbar" }, filter),
  );
  filter.addEventListener("change", () => void outbox.load(0));
  const templates = section<Template>(
    "Templates",
    ["Name", "Placeholders", "Body", "Updated"],
    async (offset) => {
      const a = await api<Wire<TemplateList>>("GET", `/api/templates${qs({ limit: PAGE, offset })}`);
      return { items: a.templates, total: a.total };
    },
    (t) => [t.name, t.placeholders.join(", ") || "—", t.body.length > 80 ? `${t.body.slice(0, 80)}…` : t.body, when(t.updatedAt)],
    status,
  );
  const contacts = section<Contact>(
    "Contacts",
    ["Name", "Email", "Phone", "Stream user", "Id", "Created"],
    async (offset) => {
      const a = await api<Wire<ContactList>>("GET", `/api/contacts${qs({ limit: PAGE, offset })}`);
      return { items: a.contacts, total: a.total };
    },
    (c) => [c.name, c.email ?? "—", c.phone ?? "—", c.streamUserId ?? "—", h("code", {}, c.id), when(c.createdAt)],
    status,
  );
  clear(root, h("h2", {}, "Messages"), status.el, outbox.el, templates.el, contacts.el);
  await Promise.all([outbox.load(0), templates.load(0), contacts.load(0)]);
}
