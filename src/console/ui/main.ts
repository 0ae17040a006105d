import { currentUser, signIn, signOut, whenSignedOut } from "./api";
import { auditPage } from "./audit-page";
import { chatflowsPage } from "./chatflows-page";
import { clear, field, h, input, notice } from "./dom";
import { keysPage } from "./keys-page";
import { messagesPage } from "./messages-page";
import { forgetSamples } from "./metrics";
import { overviewPage, startSampling, stopSampling } from "./overview-page";
import { tokensPage } from "./tokens-page";
import { usersPage } from "./users-page";

const PAGES: Array<[string, string, (root: HTMLElement) => Promise<void>]> = [
  ["overview", "Overview", overviewPage],
  ["users", "Users", usersPage],
  ["tokens", "API tokens", tokensPage],
  ["keys", "API keys", keysPage],
  ["chatflows", "Chatflows", chatflowsPage],
  ["messages", "Messages", messagesPage],
  ["audit", "Audit", auditPage],
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

function shell(): void {
  const user = currentUser()!;
  const main = h("main", { id: "page" });
  const nav = h("nav", {});
  const show = async (key: string) => {
    for (const b of nav.querySelectorAll("button[data-page]")) b.classList.toggle("active", (b as HTMLElement).dataset.page === key);
    const page = PAGES.find((p) => p[0] === key)!;
    clear(main, h("p", { class: "muted" }, "Loading…"));
    try {
      await page[2](main);
    } catch (e) {
      clear(main, h("p", { class: "notice error" }, (e as Error).message));
    }
  };
  for (const [key, label] of PAGES) nav.appendChild(h("button", { type: "button", "data-page": key, onclick: () => void show(key) }, label));
  const out = h("button", { type: "button", id: "signout", onclick: () => void signOut() }, "Sign out");
  clear(app, h("header", {}, h("strong", {}, "chatgate admin"), nav, h("span", { class: "who" }, user.email, " ", out)), main);
  startSampling();
  void show("users");
}

whenSignedOut((reason) => {
  stopSampling();
  forgetSamples();
  signInScreen(reason);
});

signInScreen();
