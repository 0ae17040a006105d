import { currentUser, signIn, signOut, whenSignedOut } from "./api";
import { auditPage } from "./audit-page";
import { chatflowsPage } from "./chatflows-page";
import { clear, field, h, input, notice } from "./dom";
import { keysPage } from "./keys-page";
import { messagesPage } from "./messages-page";
import { overviewPage } from "./overview-page";
import { tokensPage } from "./tokens-page";
import { usersPage } from "./users-page";
import { webhooksPage } from "./webhooks-page";

const PAGES: Array<[string, string, (root: HTMLElement) => Promise<void>]> = [
  ["overview", "Overview", overviewPage],
  ["users", "Users", usersPage],
  ["tokens", "API tokens", tokensPage],
  ["keys", "API keys", keysPage],
  ["chatflows", "Chatflows", chatflowsPage],
  ["messages", "Messages", messagesPage],
  ["audit", "Audit", auditPage],
  ["webhooks", "Webhooks", webhooksPage],
];

const app = document.getElementById("app")!;

function signInScreen(message?: string): void {
  const status = notice();
  if (message) status.ok(message);
  const email = input("email", { type: "email", required: true, autocomplete: "username", id: "signin-email" });
  const password = input("password", { type: "password", required: true, autocomplete: "current-password", id: "signin-password" });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { id: "signin", class: "card" }, h("h1", {}, "chatgate admin"), status.el, field("Email", email), field("Password", password), button);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    try {
      await signIn(email.value, password.value);
      shell();
    } catch (e) {
      password.value = "";
      status.fail((e as Error).message);
    } finally {
      button.disabled = false;
    }
  });
  clear(app, form);
  email.focus();
}

let navigateTo: ((key: string, focus: boolean) => Promise<void>) | undefined;
// Pages ask for another page with an event (they do not import the shell).
document.addEventListener("console:navigate", (e) => void navigateTo?.((e as CustomEvent<string>).detail, true));

function shell(): void {
  const user = currentUser()!;
  const main = h("main", { id: "page", tabindex: -1 });
  const nav = h("nav", { "aria-label": "Console pages" });
  const show = async (key: string, focus: boolean) => {
    const page = PAGES.find((p) => p[0] === key) ?? PAGES[0]!;
    for (const b of nav.querySelectorAll<HTMLElement>("button[data-page]")) {
      const active = b.dataset.page === page[0];
      b.classList.toggle("active", active);
      if (active) b.setAttribute("aria-current", "page");
      else b.removeAttribute("aria-current");
    }
    document.title = `${page[1]} · chatgate admin`;
    clear(main, h("p", { class: "muted" }, "Loading…"));
    try {
      await page[2](main);
    } catch (e) {
      clear(main, h("p", { class: "notice error", role: "alert" }, (e as Error).message));
    }
    // Keyboard and screen-reader users land on the page they chose, not back at the top.
    const heading = main.querySelector<HTMLElement>("h2");
    if (focus && heading) heading.tabIndex = -1;
    if (focus) (heading ?? main).focus();
  };
  navigateTo = show;
  for (const [key, label] of PAGES) nav.appendChild(h("button", { type: "button", "data-page": key, onclick: () => void show(key, true) }, label));
  const out = h("button", { type: "button", id: "signout", onclick: () => void signOut() }, "Sign out");
  clear(
    app,
    h("a", { class: "skip", href: "#page" }, "Skip to the page"),
    h(
      "header",
      {},
      h("span", { class: "brand" }, h("img", { src: "/admin/favicon.svg", alt: "", width: 20, height: 20 }), "chatgate admin"),
      nav,
      h("span", { class: "who" }, h("span", { class: "email", title: user.email }, user.email), out),
    ),
    main,
  );
  void show("overview", false);
}

whenSignedOut((reason) => {
  navigateTo = undefined;
  signInScreen(reason);
});

signInScreen();
