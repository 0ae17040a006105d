// DOM helpers: every value becomes a text node or a property, never parsed HTML.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((ev: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.replace(/^on/, ""), value);
    else if (name === "class") el.className = String(value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, ...children);
  return el;
}

export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

export function clear(el: Node, ...children: Child[]): void {
  while (el.firstChild) el.removeChild(el.firstChild);
  append(el, ...children);
}

export function when(iso: string | null | undefined | number | Date): string {
  if (iso === null || iso === undefined || iso === "") return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : `${d.toISOString().replace("T", " ").slice(0, 19)} UTC`;
}

/**
 * A table whose cells are built by the caller from each row, in a box that scrolls sideways on a
 * narrow screen (so the page itself never does); the box is focusable so a keyboard can scroll it.
 */
export function table<T>(headers: string[], rows: T[], cells: (row: T) => Child[], empty = "Nothing here yet."): HTMLElement {
  if (rows.length === 0) return h("p", { class: "muted" }, empty);
  return h(
    "div",
    { class: "table-wrap", tabindex: 0 },
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, ...headers.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, ...rows.map((r) => h("tr", {}, ...cells(r).map((c) => h("td", {}, c))))),
    ),
  );
}

/** Previous/next controls; `load(offset)` re-renders the list. */
export function pager(total: number, offset: number, limit: number, load: (offset: number) => void): HTMLElement {
  const last = Math.max(0, total - 1);
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(total, offset + limit);
  return h(
    "div",
    { class: "pager" },
    h("button", { type: "button", disabled: offset <= 0, onclick: () => load(Math.max(0, offset - limit)) }, "‹ Previous"),
    h("span", {}, `${from}–${to} of ${total}`),
    h("button", { type: "button", disabled: offset + limit > last, onclick: () => load(offset + limit) }, "Next ›"),
  );
}

export function field(label: string, input: HTMLElement): HTMLElement {
  return h("label", { class: "field" }, h("span", {}, label), input);
}

export function input(name: string, attrs: Attrs = {}): HTMLInputElement {
  return h("input", { name, ...attrs });
}

export function select(name: string, options: Array<[string, string]>, value?: string): HTMLSelectElement {
  const el = h("select", { name }, ...options.map(([v, label]) => h("option", { value: v }, label)));
  if (value !== undefined) el.value = value;
  return el;
}

/** A status line for results and errors of the last action. */
export function notice(): { el: HTMLElement; ok(text: string): void; fail(text: string): void; reset(): void } {
  const el = h("p", { class: "notice", role: "status", hidden: true });
  const show = (cls: string, text: string) => {
    el.className = `notice ${cls}`;
    el.textContent = text;
    el.hidden = false;
  };
  return { el, ok: (t) => show("ok", t), fail: (t) => show("error", t), reset: () => void (el.hidden = true) };
}

/** An in-page confirmation (no window.confirm, so no browser dialog). */
export function confirmAction(question: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (answer: boolean) => {
      overlay.remove();
      resolve(answer);
    };
    const overlay = h(
      "div",
      { class: "overlay" },
      h(
        "div",
        { class: "dialog", role: "dialog", "aria-modal": "true" },
        h("p", {}, question),
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "danger", "data-confirm": "yes", onclick: () => done(true) }, confirmLabel),
          h("button", { type: "button", onclick: () => done(false) }, "Cancel"),
        ),
      ),
    );
    document.body.appendChild(overlay);
  });
}

/** A secret shown once, with a copy button. */
export function secretBox(title: string, secret: string, note: string): HTMLElement {
  const value = h("code", { class: "secret" }, secret);
  const status = h("span", { class: "muted" });
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      status.textContent = "Copied.";
    } catch {
      // Clipboard API refused (insecure origin or permissions): select it for a manual copy.
      const range = document.createRange();
      range.selectNodeContents(value);
      const sel = window.getSelection();
      sel?.removeAllRanges();
      sel?.addRange(range);
      status.textContent = "Selected: press Ctrl+C to copy.";
    }
  };
  return h("div", { class: "secret-box" }, h("strong", {}, title), h("p", {}, note), value, h("div", {}, h("button", { type: "button", onclick: copy }, "Copy"), " ", status));
}

/** Client-side paging of a list the API returns whole. */
export function pageOf<T>(rows: T[], offset: number, limit: number): T[] {
  return rows.slice(offset, offset + limit);
}
