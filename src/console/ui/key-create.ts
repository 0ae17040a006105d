// The "create a key" form of the API keys page: level `write` unless changed, the new secret shown
// once beside the form, the input kept when the API refuses it.
import { api } from "./api";
import { clear, field, h, input, secretBox, select } from "./dom";
import { wireForm } from "./forms";
import { quotaInputs } from "./rate-limit";
import { type AdminUser, userPicker } from "./users-data";
import type { KeyCreated } from "../../keys/model";

/** A select whose reset returns to `value` (form.reset() restores the default option). */
function selectDefault(name: string, options: Array<[string, string]>, value: string): HTMLSelectElement {
  const el = select(name, options, value);
  for (const o of el.options) o.defaultSelected = o.value === value;
  return el;
}

export function keyCreateForm(users: AdminUser[], created: (k: KeyCreated) => Promise<void>): HTMLElement {
  const name = input("key-name", { required: true, maxlength: 200, id: "key-name" });
  const owner = userPicker(users, "key-user");
  const level = selectDefault(
    "level",
    [
      ["read", "read"],
      ["write", "write"],
      ["admin", "admin"],
    ],
    "write",
  );
  const environment = selectDefault(
    "environment",
    [
      ["live", "live"],
      ["test", "test"],
    ],
    "live",
  );
  const domains = input("allowed-domains", { placeholder: "example.com, *.example.org" });
  const expiry = input("key-expiry", { type: "datetime-local" });
  const quota = quotaInputs("key-rate");
  const shown = h("div", { id: "key-result", class: "result", "aria-live": "polite" });
  const form = h(
    "form",
    { id: "create-key", class: "inline" },
    field("Name", name),
    field("User", owner.el),
    field("Level", level),
    field("Environment", environment),
    field("Allowed domains (comma-separated, empty = any)", domains),
    field("Expires (optional, local time)", expiry),
    ...quota.fields,
    h("button", { type: "submit" }, "Create key"),
  );
  wireForm<KeyCreated>(
    form,
    async () => {
      clear(shown);
      if (!owner.value()) throw new Error("Choose the user the key belongs to.");
      const exp = expiry.value ? new Date(expiry.value) : null;
      if (exp && Number.isNaN(exp.getTime())) throw new Error("The expiry is not a valid date.");
      const rateLimit = quota.read();
      if (typeof rateLimit === "string") throw new Error(rateLimit);
      const made = await api<KeyCreated>("POST", "/api/auth/api-keys", {
        name: name.value,
        user_id: owner.value(),
        level: level.value,
        environment: environment.value,
        allowed_domains: domains.value
          .split(",")
          .map((d) => d.trim())
          .filter(Boolean),
        expires_at: exp ? exp.toISOString() : null,
        ...(rateLimit ? { rate_limit: rateLimit } : {}),
      });
      return { value: made, message: `Key "${made.name}" created (level ${made.level}).` };
    },
    {
      after: async (made) => {
        clear(shown, secretBox(`API key "${made.name}"`, made.key, "Copy it now: only its first characters are kept readable."));
        await created(made);
      },
    },
  );
  return h("div", { class: "form-row" }, form, shown);
}
