import { api, qs, type Wire } from "./api";
import { clear, h, notice, pager, select, table, when } from "./dom";
import { action } from "./forms";
import type { ContactList, MessageList, TemplateList } from "../../messaging/model";

const PAGE = 20;

type Message = Wire<MessageList>["messages"][number];
type Template = Wire<TemplateList>["templates"][number];
type Contact = Wire<ContactList>["contacts"][number];

/** One server-paginated list section. */
/** Retry (failed, cancelled) or cancel (queued) one message; the outcome goes in `status`. */
function messageActions(m: Message, status: ReturnType<typeof notice>, reload: () => Promise<void>): Node | string {
  const button = (what: "retry" | "cancel", label: string) => {
    const b = h(
      "button",
      { type: "button", class: what === "cancel" ? "danger" : "", [`data-${what}-message`]: m.id, "aria-label": `${label} the message to ${m.recipientName}` },
      label,
    );
    action(
      b,
      async () => {
        await api("POST", `/api/messages/${encodeURIComponent(m.id)}/${what}`);
        await reload();
        return what === "retry" ? `The message to ${m.recipientName} is queued again.` : `The message to ${m.recipientName} is cancelled.`;
      },
      status,
    );
    return b;
  };
  if (m.status === "failed" || m.status === "cancelled") return button("retry", "Retry");
  if (m.status === "queued") return button("cancel", "Cancel");
  return "";
}

function section<T>(
  title: string,
  headers: string[],
  fetchPage: (offset: number) => Promise<{ items: T[]; total: number }>,
  cells: (r: T) => Array<Node | string>,
  status: ReturnType<typeof notice>,
  extra?: HTMLElement,
): { el: HTMLElement; load(offset: number): Promise<void> } {
  const body = h("div", {});
  const load = async (offset: number): Promise<void> => {
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
      ["cancelled", "cancelled"],
    ],
    "",
  );
  filter.setAttribute("aria-label", "Message status");
  // MESSAGE_TRANSPORT=none: nothing delivers, so say so where the queued messages are listed.
  const banner = h("p", { class: "notice warn", id: "transport-banner", role: "status", hidden: true });
  const outbox: { el: HTMLElement; load(offset: number): Promise<void> } = section<Message>(
    "Outbox",
    ["Created", "Recipient", "Status", "Attempts", "Next attempt", "Last error", "Text", ""],
    async (offset): Promise<{ items: Message[]; total: number }> => {
      const a = await api<Wire<MessageList>>("GET", `/api/messages${qs({ status: filter.value, limit: PAGE, offset })}`);
      void showBanner(a.transport);
      return { items: a.messages, total: a.total };
    },
    (m) => [
      when(m.createdAt),
      h("span", { title: m.recipientId }, m.recipientName),
      m.status,
      String(m.attempts),
      m.status === "queued" ? when(m.nextAttemptAt) : "—",
      m.lastError ?? "—",
      m.text.length > 80 ? `${m.text.slice(0, 80)}…` : m.text,
      messageActions(m, status, () => outbox.load(0)),
    ],
    status,
    h("div", { class: "toolbar" }, filter),
  );
  const showBanner = async (transport: Wire<MessageList>["transport"]) => {
    if (transport !== "none") return void (banner.hidden = true);
    const queued = await api<Wire<MessageList>>("GET", `/api/messages${qs({ status: "queued", limit: 1 })}`).catch(() => undefined);
    const n = queued?.total ?? 0;
    banner.textContent =
      n > 0
        ? `No message transport is configured (MESSAGE_TRANSPORT=none): ${n} queued message${n === 1 ? " waits" : "s wait"} and nothing is delivered until MESSAGE_TRANSPORT is set to webhook or stream.`
        : "No message transport is configured (MESSAGE_TRANSPORT=none): new messages will wait in the queue until MESSAGE_TRANSPORT is set to webhook or stream.";
    banner.hidden = false;
  };
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
  clear(root, h("h2", {}, "Messages"), banner, status.el, outbox.el, templates.el, contacts.el);
  await Promise.all([outbox.load(0), templates.load(0), contacts.load(0)]);
}
