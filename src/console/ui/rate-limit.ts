// Rate limits in the console: a key's or user's own quota, shown beside the default that applies
// without one, and a small form to set or remove it.
import { api, qs } from "./api";
import { field, h, input } from "./dom";

export interface Quota {
  limit: number;
  window_s: number;
}

export interface Defaults {
  user: Quota | null;
  address: Quota | null;
  stream_token: Quota;
  predict_cost: number;
}

export const quotaText = (q: Quota | null | undefined) => (q ? `${q.limit} per ${q.window_s} s` : "none");

/** Own quotas of the given keys or users (one request), and the configured defaults. */
export async function ownQuotas(kind: "key" | "user", ids: string[]): Promise<{ own: Map<string, Quota>; defaults?: Defaults }> {
  if (ids.length === 0) return { own: new Map() };
  const a = await api<{ defaults: Defaults; policies: { subject_id: string; rate_limit: Quota }[] }>(
    "GET",
    `/api/auth/rate-limits${qs({ subject_kind: kind, subject_ids: ids.join(",") })}`,
  );
  return { own: new Map(a.policies.map((p) => [p.subject_id, p.rate_limit])), defaults: a.defaults };
}

/** Limit and window inputs; `read()` is the quota typed, null when both are empty, or an error text. */
export function quotaInputs(prefix: string, current?: Quota | null) {
  const limit = input(`${prefix}-limit`, { type: "number", min: 1, max: 1_000_000_000, step: 1, placeholder: "requests" });
  const windowS = input(`${prefix}-window`, { type: "number", min: 1, max: 86400, step: 1, placeholder: "60" });
  if (current) {
    limit.value = String(current.limit);
    windowS.value = String(current.window_s);
  }
  const read = (): Quota | null | string => {
    if (!limit.value && !windowS.value) return null;
    const l = Number(limit.value);
    const w = windowS.value ? Number(windowS.value) : 60;
    if (!Number.isInteger(l) || l < 1) return "The limit must be a whole number of requests, at least 1.";
    if (!Number.isInteger(w) || w < 1 || w > 86400) return "The window must be 1 to 86400 seconds.";
    return { limit: l, window_s: w };
  };
  return { fields: [field("Rate limit (requests)", limit), field("per (seconds)", windowS)], read };
}

/** A form that sets the quota, and a button that removes it (back to the default). */
export function quotaForm(id: string, current: Quota | null, save: (q: Quota | null) => Promise<void>, fail: (text: string) => void): HTMLElement {
  const q = quotaInputs(id, current);
  const remove = h("button", { type: "button", class: "secondary", id: `${id}-remove` }, "Remove own limit");
  remove.addEventListener("click", () => void save(null));
  const form = h("form", { class: "inline", id }, ...q.fields, h("button", { type: "submit" }, "Set limit"), remove);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = q.read();
    if (typeof v === "string") return fail(v);
    if (v === null) return fail("Enter a limit, or remove the limit instead.");
    void save(v);
  });
  return form;
}
