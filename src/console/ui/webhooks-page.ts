// Event webhooks (issue 18): add one (its signing secret shown once), change, test or delete it,
// and see its deliveries: status, attempts, the last error and the receiver's response code.
import { api, qs } from "./api";
import { clear, confirmAction, field, h, input, secretBox, table, when } from "./dom";
import { resultLine, wireForm } from "./forms";
import { EVENT_TYPES } from "../../kernel/events";
import type { Static } from "@sinclair/typebox";
import type { delivery, listResponse, webhook, webhookWithSecret } from "../../webhooks/model";

type Webhook = Static<typeof webhook>;
type WithSecret = Static<typeof webhookWithSecret>;
type Delivery = Static<typeof delivery>;

const SUBSCRIBABLE = EVENT_TYPES.filter((e) => e !== "webhook.test");

/** Comma- or space-separated event types; `api_key.*` style wildcards are the server's to check. */
const eventsOf = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((e) => e.trim())
    .filter(Boolean);

function eventsInput(name: string, value = ""): HTMLInputElement {
  const el = input(name, { required: true, list: "webhook-events", placeholder: "api_key.*, credits.low", value });
  return el;
}

export async function webhooksPage(root: HTMLElement): Promise<void> {
  const status = resultLine("webhooks-status");
  const list = h("div", { id: "webhook-list" });
  const panel = h("div", { id: "webhook-panel" });
  const known = h("datalist", { id: "webhook-events" }, ...SUBSCRIBABLE.map((e) => h("option", { value: e })), h("option", { value: "api_key.*" }));

  const url = input("webhook-url", { type: "url", required: true, placeholder: "https://hooks.example.com/chatgate" });
  const events = eventsInput("webhook-events");
  const description = input("webhook-description", { maxlength: 500 });
  const shown = h("div", { id: "webhook-secret", class: "result", "aria-live": "polite" });
  const form = h(
    "form",
    { id: "create-webhook", class: "inline" },
    field("URL", url),
    field("Events (comma-separated)", events),
    field("Description (optional)", description),
    h("button", { type: "submit" }, "Add webhook"),
  );
  wireForm<WithSecret>(
    form,
    async () => {
      clear(shown);
      const made = await api<WithSecret>("POST", "/api/admin/webhooks", { url: url.value.trim(), events: eventsOf(events.value), description: description.value });
      return { value: made, message: `Webhook to ${made.url} added.` };
    },
    {
      after: async (made) => {
        clear(shown, secretBox("Signing secret", made.secret, "Copy it now into the receiver: it is shown once (Standard Webhooks, verify webhook-signature with it)."));
        await reload();
      },
    },
  );

  const reload = async () => {
    try {
      const page = await api<Static<typeof listResponse>>("GET", `/api/admin/webhooks${qs({ limit: 500 })}`);
      clear(
        list,
        table(
          ["URL", "Events", "Description", "Enabled", "Created", "Actions"],
          page.webhooks,
          (w) => [
            h("span", { class: "id" }, w.url),
            w.events.join(", "),
            w.description || "—",
            w.enabled ? "yes" : "no",
            when(w.created_at),
            h(
              "div",
              { class: "actions-cell" },
              h("button", { type: "button", "data-deliveries": w.id, "aria-label": `Deliveries of ${w.url}`, onclick: () => void deliveries(w) }, "Deliveries"),
              h("button", { type: "button", "data-test": w.id, "aria-label": `Send a test event to ${w.url}`, onclick: () => void test(w) }, "Test"),
              h("button", { type: "button", "data-edit": w.id, "aria-label": `Edit ${w.url}`, onclick: () => edit(w) }, "Edit"),
              h("button", { type: "button", class: "danger", "data-delete": w.id, "aria-label": `Delete ${w.url}`, onclick: () => void remove(w) }, "Delete"),
            ),
          ],
          "No webhooks yet.",
        ),
      );
    } catch (e) {
      status.fail((e as Error).message);
    }
  };

  const deliveries = async (w: Webhook) => {
    try {
      const page = await api<{ deliveries: Delivery[]; total: number }>("GET", `/api/admin/webhooks/${encodeURIComponent(w.id)}/deliveries${qs({ limit: 100 })}`);
      clear(
        panel,
        h("h3", {}, `Deliveries to ${w.url}`),
        h(
          "div",
          { class: "toolbar" },
          h("span", { class: "muted" }, `${page.total} in all, newest first.`),
          h("button", { type: "button", id: "deliveries-refresh", onclick: () => void deliveries(w) }, "Refresh"),
        ),
        h(
          "div",
          { id: "delivery-list" },
          table(
            ["Event", "Status", "Attempts", "Response", "Last error", "Created", "Next attempt", "Sent"],
            page.deliveries,
            (d) => [
              d.event_type,
              d.status,
              String(d.attempts),
              d.response_code === null ? "—" : String(d.response_code),
              d.last_error ?? "—",
              when(d.created_at),
              when(d.next_attempt_at),
              when(d.sent_at),
            ],
            "No deliveries yet.",
          ),
        ),
      );
    } catch (e) {
      status.fail((e as Error).message);
    }
  };

  const test = async (w: Webhook) => {
    try {
      await api("POST", `/api/admin/webhooks/${encodeURIComponent(w.id)}/test`, {});
      status.ok(`A webhook.test event is queued for ${w.url}.`);
      await deliveries(w);
    } catch (e) {
      status.fail((e as Error).message);
    }
  };

  const edit = (w: Webhook) => {
    const u = input("edit-url", { type: "url", required: true, value: w.url });
    const ev = eventsInput("edit-events", w.events.join(", "));
    const d = input("edit-description", { maxlength: 500, value: w.description });
    const enabled = input("edit-enabled", { type: "checkbox" });
    enabled.checked = w.enabled;
    const rotate = input("edit-rotate", { type: "checkbox" });
    const secret = h("div", { class: "result", id: "edit-secret" });
    const f = h(
      "form",
      { id: "edit-webhook", class: "inline" },
      field("URL", u),
      field("Events (comma-separated)", ev),
      field("Description", d),
      h("label", { class: "check" }, enabled, "Enabled"),
      h("label", { class: "check" }, rotate, "New signing secret"),
      h("button", { type: "submit" }, "Save"),
    );
    wireForm<Webhook | WithSecret>(
      f,
      async () => {
        const body = { url: u.value.trim(), events: eventsOf(ev.value), description: d.value, enabled: enabled.checked, ...(rotate.checked ? { rotate_secret: true } : {}) };
        const saved = await api<Webhook | WithSecret>("PATCH", `/api/admin/webhooks/${encodeURIComponent(w.id)}`, body);
        return { value: saved, message: `Saved the webhook to ${saved.url}.` };
      },
      {
        resetOnSuccess: false,
        after: async (saved) => {
          rotate.checked = false;
          if ("secret" in saved) clear(secret, secretBox("New signing secret", saved.secret, "Copy it now: it is shown once; the old one stops at once."));
          await reload();
        },
      },
    );
    clear(panel, h("h3", {}, `Edit the webhook to ${w.url}`), h("div", { class: "form-row" }, f, secret));
    u.focus();
  };

  const remove = async (w: Webhook) => {
    if (!(await confirmAction(`Delete the webhook to ${w.url} and its delivery history?`, "Delete"))) return;
    try {
      await api("DELETE", `/api/admin/webhooks/${encodeURIComponent(w.id)}`);
      status.ok(`Webhook to ${w.url} deleted.`);
      clear(panel);
      await reload();
    } catch (e) {
      status.fail((e as Error).message);
    }
  };

  clear(
    root,
    h("h2", {}, "Webhooks"),
    h("p", { class: "muted" }, "Signed events (Standard Webhooks) sent to your endpoints through the outbox, retried with backoff."),
    known,
    h("h3", {}, "Add a webhook"),
    h("div", { class: "form-row" }, form, shown),
    h("h3", {}, "Webhooks"),
    status.el,
    list,
    panel,
  );
  await reload();
}
