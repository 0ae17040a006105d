// Forms that never lose work. While a form's request runs its controls are disabled, so nothing
// can be typed into fields a success is about to clear and a second Enter cannot send twice; on
// failure the input stays as typed; the outcome (success, or the API's error in words) is shown
// beside the form that produced it, not in a page-wide line another action may overwrite.
import { h } from "./dom";

export interface FormResult {
  el: HTMLElement;
  ok(text: string): void;
  fail(text: string): void;
  reset(): void;
}

/** A result line (role=status, so screen readers announce it) for one form or one action. */
export function resultLine(id?: string): FormResult {
  const el = h("p", { class: "notice form-result", role: "status", "aria-live": "polite", id: id ?? null, hidden: true });
  const show = (cls: string, text: string) => {
    el.className = `notice form-result ${cls}`;
    el.textContent = text;
    el.hidden = false;
  };
  return { el, ok: (t) => show("ok", t), fail: (t) => show("error", t), reset: () => void (el.hidden = true) };
}

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement | HTMLButtonElement | HTMLFieldSetElement;

/** Disables every enabled control of `form` (and `extra`); the returned function re-enables just those. */
export function lock(form: HTMLFormElement, extra: Control[] = []): () => void {
  const locked = [...Array.from(form.elements), ...extra].filter((c): c is Control => "disabled" in c && !(c as Control).disabled) as Control[];
  for (const c of locked) c.disabled = true;
  form.setAttribute("aria-busy", "true");
  return () => {
    for (const c of locked) c.disabled = false;
    form.removeAttribute("aria-busy");
  };
}

export interface FormOptions<T> {
  /** Clear the form after a success (a create form: ready for the next one). Default true. */
  resetOnSuccess?: boolean;
  /** Work after the success that must not turn it into a failure (reloading a list). */
  after?: (value: T) => Promise<void> | void;
  /** Where the result goes; default a line appended inside the form. */
  result?: FormResult;
}

export interface WiredForm {
  result: FormResult;
  /** True while the form's request runs. */
  busy(): boolean;
}

/**
 * Wires `form`'s submit to `send`, which returns `{ value, message }` (or just the message).
 * Client-side checks throw an Error with their words; an ApiError's message is the API's own.
 */
export function wireForm<T = void>(form: HTMLFormElement, send: () => Promise<{ value: T; message: string } | string>, options: FormOptions<T> = {}): WiredForm {
  const result = options.result ?? resultLine(form.id ? `${form.id}-result` : undefined);
  if (!options.result) form.appendChild(result.el);
  let running = false;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    // A second submit (Enter pressed twice) while the first runs is dropped, not sent twice.
    if (running) return;
    running = true;
    // Disabling a control drops its focus: put it back afterwards so the keyboard user stays put.
    const focused = document.activeElement instanceof HTMLElement && form.contains(document.activeElement) ? document.activeElement : undefined;
    const unlock = lock(form);
    result.reset();
    let outcome: { value: T; message: string } | undefined;
    try {
      const answer = await send();
      outcome = typeof answer === "string" ? { value: undefined as T, message: answer } : answer;
    } catch (e) {
      result.fail((e as Error).message || "The request failed.");
    } finally {
      unlock();
      running = false;
    }
    if (!outcome) {
      (focused ?? firstControl(form))?.focus();
      return;
    }
    // The controls were disabled while the request ran, so what is cleared is exactly what was sent.
    const reset = options.resetOnSuccess !== false;
    if (reset) form.reset();
    result.ok(outcome.message);
    // After a reset the form is ready for the next entry: typing goes on in its first field.
    ((reset ? firstControl(form) : focused) ?? firstControl(form))?.focus();
    if (options.after) {
      try {
        await options.after(outcome.value);
      } catch (e) {
        result.ok(`${outcome.message} (The list could not be refreshed: ${(e as Error).message})`);
      }
    }
  });
  return { result, busy: () => running };
}

function firstControl(form: HTMLFormElement): HTMLElement | undefined {
  return Array.from(form.elements).find(
    (c): c is HTMLElement =>
      (c instanceof HTMLInputElement || c instanceof HTMLSelectElement || c instanceof HTMLTextAreaElement) && !c.disabled && !c.hidden && c.type !== "hidden",
  );
}

/** A button that runs one request (revoke, retry, sync): disabled while it runs, outcome in `result`. */
export function action(button: HTMLButtonElement, run: () => Promise<string | undefined>, result: FormResult): void {
  let running = false;
  button.addEventListener("click", async () => {
    if (running) return;
    running = true;
    button.disabled = true;
    try {
      const text = await run();
      if (text) result.ok(text);
    } catch (e) {
      result.fail((e as Error).message || "The request failed.");
    } finally {
      running = false;
      if (button.isConnected) button.disabled = false;
    }
  });
}
