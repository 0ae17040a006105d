// The console's users, tokens, chatflows and messages pages in a real browser (playwright-core
// driving Debian's chromium) against a real listening app, at 1280 px and at 390 px. Every action
// is checked through the API afterwards, not through the page.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { eq } from "drizzle-orm";
import { messages } from "../../src/db/schema";
import { json, makeApp, seedUser, within, type SeededUser, type TestApp } from "../helpers";
import { axe, type Browser, CHROMIUM, hasChromium, launch, openConsole as open, overflow } from "./browser-helpers";

if (!hasChromium) console.warn(`[console-b.browser.test] SKIPPED: no browser at ${CHROMIUM}`);

let t: TestApp;
let base: string;
let admin: SeededUser;
let browser: Browser;

beforeAll(async () => {
  if (!hasChromium) return;
  t = await makeApp({});
  admin = await seedUser(t, { role: "admin", name: "Ada Admin", email: "ada@example.test" });
  t.app.listen({ port: 0, hostname: "127.0.0.1" });
  base = `http://127.0.0.1:${t.app.server!.port}`;
  browser = await launch();
}, 120_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await t.app.stop(true);
  await t.close();
});

const openConsole = (width = 1280, who: SeededUser = admin): Promise<Page> => open(browser, base, who, width);

const api = (method: string, path: string, body?: unknown) => t.request(method, path, { token: admin.accessToken, body });

/** Nothing wider than the window: the page never scrolls sideways (tables scroll in their own box). */
async function fitsWidth(page: Page): Promise<void> {
  expect(await overflow(page)).toBeLessThanOrEqual(0);
}

async function goTo(page: Page, key: string): Promise<void> {
  await page.click(`nav button[data-page=${key}]`);
}

async function usersPage(page: Page): Promise<void> {
  await page.click("nav button[data-page=users]");
  await page.locator("#user-list table").waitFor();
}

describe.skipIf(!hasChromium)("console (users, tokens, chatflows, messages) in chromium", () => {
  test("25 users typed and submitted as fast as the page allows are all created", async () => {
    const page = await openConsole();
    await usersPage(page);
    await page.click("#create-user-details summary");
    const emails = Array.from({ length: 25 }, (_, i) => `fast-${i}@example.test`);
    // No waiting for any answer: each fill goes in as soon as the form takes input.
    for (const [i, email] of emails.entries()) {
      await page.fill("#create-user input[name=email]", email);
      await page.fill("#create-user input[name=name]", `Fast ${i}`);
      await page.fill("#create-user input[name=password]", `a-long-enough-password-${i}`);
      await page.press("#create-user input[name=password]", "Enter");
    }
    await page.locator("#create-user-result", { hasText: "Created user fast-24@example.test" }).waitFor();
    const all = async () => {
      const listed = await json(await api("GET", "/api/auth/users?q=fast-&limit=1000"));
      return (listed.users as Array<{ email: string }>).map((u) => u.email).filter((e) => e.startsWith("fast-"));
    };
    expect(await within(5000, async () => (await all()).length === 25)).toBe(true);
    expect((await all()).sort()).toEqual([...emails].sort());
    await page.close();
  }, 90_000);

  test("an API error is shown in words beside the form, and the input is kept", async () => {
    const page = await openConsole();
    await usersPage(page);
    await page.click("#create-user-details summary");
    await page.fill("#create-user input[name=email]", admin.user.email);
    await page.fill("#create-user input[name=name]", "Duplicate");
    await page.fill("#create-user input[name=password]", "a-long-enough-password-x");
    await page.press("#create-user input[name=password]", "Enter");
    const error = page.locator("#create-user-result.error");
    await error.waitFor();
    expect(await error.textContent()).toContain("A user with this email or username already exists (HTTP 409)");
    expect(await page.inputValue("#create-user input[name=email]")).toBe(admin.user.email);
    expect(await page.inputValue("#create-user input[name=name]")).toBe("Duplicate");
    await page.close();
  }, 60_000);

  for (const width of [1280, 390]) {
    test(`users at ${width} px: server-side search, the user's usage chart, ledger, keys and tokens`, async () => {
      const who = await seedUser(t, { name: `Ursula ${width}`, email: `ursula-${width}@example.test` });
      for (let i = 0; i < 5; i++) expect((await t.request("GET", "/api/auth/me", { token: who.accessToken })).status).toBe(200);
      await t.ctx.services.usage.flusher.flushQuietly();
      expect((await api("POST", `/api/admin/users/${who.user.id}/credits`, { amount: 40, reason: `welcome ${width}` })).status).toBe(200);
      expect((await api("POST", "/api/auth/api-keys", { name: `ursula key ${width}`, user_id: who.user.id, level: "write" })).status).toBe(201);
      expect((await api("POST", "/api/admin/tokens", { userId: who.user.id, description: `crm sync ${width}` })).status).toBe(200);

      const page = await openConsole(width);
      await usersPage(page);
      await page.fill("input[name=search]", `ursula-${width}@`);
      await page.waitForFunction(() => document.querySelectorAll("#user-list tbody tr").length === 1);
      const listed = await json(await api("GET", `/api/auth/users?q=ursula-${width}@`));
      expect(listed.count).toBe(1);
      await page.locator("#user-list .pager", { hasText: "1–1 of 1" }).waitFor();
      await page.click(`button[data-user="${who.user.id}"]`);
      await page.locator("#balance", { hasText: "40" }).waitFor();
      await page.locator("#ledger", { hasText: `welcome ${width}` }).waitFor();
      await page.locator("#user-keys", { hasText: `ursula key ${width}` }).waitFor();
      await page.locator("#user-tokens", { hasText: `crm sync ${width}` }).waitFor();
      // The chart's total is what the usage API says for this user over the same days.
      const since = new Date(Math.floor(Date.now() / 86400_000) * 86400_000 - 6 * 86400_000).toISOString();
      const usage = await json(await api("GET", `/api/admin/usage?group_by=user&id=${who.user.id}&granularity=day&since=${since}`));
      const requests = (usage.series as Array<{ requests: number }>).reduce((a, r) => a + r.requests, 0);
      expect(requests).toBeGreaterThanOrEqual(5);
      const total = page.locator('[data-total="user-chart-requests"]');
      await total.waitFor();
      expect((await total.textContent())!.split(" / ")[0]).toBe(String(requests));
      expect(await page.locator("#user-usage svg[role=img]").count()).toBe(3);
      await page.click("#create-user-details summary");
      await page.click("#own-password-details summary");
      await fitsWidth(page);
      expect(await axe(page)).toEqual([]);
      await page.close();
    }, 60_000);

    test(`API tokens at ${width} px: a description at issue, edited in the list`, async () => {
      const owner = await seedUser(t, { name: `Tok Owner ${width}` });
      const page = await openConsole(width);
      await goTo(page, "tokens");
      await page.selectOption("#generate-token select[name=token-user]", owner.user.id);
      await page.fill("#generate-token input[name=token-description]", `billing export ${width}`);
      await page.click("#generate-token button[type=submit]");
      await page.locator("#token-result code.secret").waitFor();
      const tokens = async () => (await json(await api("GET", `/api/admin/tokens?userId=${owner.user.id}`))).tokens as Array<{ id: string; description: string | null }>;
      const [made] = await tokens();
      expect(made!.description).toBe(`billing export ${width}`);
      await page.locator(`[data-token-description="${made!.id}"]`, { hasText: `billing export ${width}` }).waitFor();
      await page.click(`button[data-describe-token="${made!.id}"]`);
      await page.fill(`#describe-${made!.id} input[name=description]`, `zapier ${width}`);
      await page.press(`#describe-${made!.id} input[name=description]`, "Enter");
      await page.locator("#token-list-result", { hasText: `Description saved: zapier ${width}.` }).waitFor();
      expect((await tokens())[0]!.description).toBe(`zapier ${width}`);
      await fitsWidth(page);
      expect(await axe(page)).toEqual([]);
      await page.close();
    }, 60_000);

    test(`chatflows at ${width} px: add one by hand, then delete it after confirming`, async () => {
      const id = width === 1280 ? "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" : "1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
      const page = await openConsole(width);
      await goTo(page, "chatflows");
      await page.click("#add-chatflow-details summary");
      await page.fill("#add-chatflow input[name=chatflow-id]", id);
      await page.fill("#add-chatflow input[name=chatflow-name]", `Billing bot ${width}`);
      await page.fill("#add-chatflow input[name=chatflow-cost]", "3");
      await page.fill("#add-chatflow input[name=chatflow-overrides]", "temperature, maxTokens");
      await page.click("#add-chatflow button[type=submit]");
      await page.locator("#add-chatflow-result", { hasText: `Added Billing bot ${width} (cost 3, enabled).` }).waitFor();
      const flows = async () =>
        (await json(await api("GET", "/api/admin/chatflows?limit=200"))).chatflows as Array<{ id: string; cost: number; enabled: boolean; override_allow: string[] | null }>;
      expect((await flows()).find((c) => c.id === id)).toMatchObject({ cost: 3, enabled: true, override_allow: ["temperature", "maxTokens"] });
      // The same id again: the API's refusal, in words, beside the form; the input stays.
      await page.fill("#add-chatflow input[name=chatflow-id]", id);
      await page.fill("#add-chatflow input[name=chatflow-name]", "Again");
      await page.click("#add-chatflow button[type=submit]");
      const refused = page.locator("#add-chatflow-result.error");
      await refused.waitFor();
      expect(await refused.textContent()).toContain("409");
      expect(await page.inputValue("#add-chatflow input[name=chatflow-name]")).toBe("Again");

      await page.click(`button[data-delete-chatflow="${id}"]`);
      await page.click(".dialog button[data-confirm=yes]");
      await page.getByText(`Deleted Billing bot ${width}.`).waitFor();
      expect((await flows()).find((c) => c.id === id)).toBeUndefined();
      await fitsWidth(page);
      expect(await axe(page)).toEqual([]);
      await page.close();
    }, 60_000);

    test(`messages at ${width} px: recipient names, the no-transport banner, cancel a queued message, retry a failed one`, async () => {
      const contact = await json(await api("POST", "/api/contacts", { name: `Rita Recipient ${width}` }));
      const send = async (text: string) =>
        (await json(await api("POST", "/api/messages/send-private", { recipientId: contact.contact.id, message: text }))).messages[0].id as string;
      const queued = await send(`please cancel ${width}`);
      const failed = await send(`please retry ${width}`);
      await t.ctx.db.update(messages).set({ status: "failed", lastError: "receiver down" }).where(eq(messages.id, failed));

      const page = await openConsole(width);
      await goTo(page, "messages");
      await page.locator("#transport-banner", { hasText: "MESSAGE_TRANSPORT=none" }).waitFor();
      expect(await page.locator("#transport-banner").textContent()).toContain("queued message");
      await page
        .getByRole("cell", { name: `Rita Recipient ${width}` })
        .first()
        .waitFor();
      await page.click(`button[data-cancel-message="${queued}"]`);
      await page.getByText(`The message to Rita Recipient ${width} is cancelled.`).waitFor();
      const state = async (id: string) => (await json(await api("GET", `/api/messages/${id}`))).message.status;
      expect(await state(queued)).toBe("cancelled");
      await page.click(`button[data-retry-message="${failed}"]`);
      await page.getByText(`The message to Rita Recipient ${width} is queued again.`).waitFor();
      expect(await state(failed)).toBe("queued");
      await fitsWidth(page);
      expect(await axe(page)).toEqual([]);
      await page.close();
    }, 60_000);
  }

  test("change my own password: the current one is required; this session stays, other sessions end", async () => {
    const me = await seedUser(t, { role: "admin", name: "Self Service", email: "self@example.test" });
    const page = await openConsole(1280, me);
    await usersPage(page);
    await page.click("#own-password-details summary");
    await page.fill("#own-password input[name=current-password]", "not-the-password");
    await page.fill("#own-password input[name=new-password]", "a-changed-password-77");
    await page.click("#own-password button[type=submit]");
    const refused = page.locator("#own-password-result.error");
    await refused.waitFor();
    expect(await refused.textContent()).toContain("The current password is not correct (HTTP 403)");
    expect(await page.inputValue("#own-password input[name=new-password]")).toBe("a-changed-password-77");

    await page.fill("#own-password input[name=current-password]", me.password);
    await page.click("#own-password button[type=submit]");
    await page.locator("#own-password-result.ok", { hasText: "1 other session was signed out; this one stays signed in." }).waitFor();
    const login = (password: string) => t.request("POST", "/api/v1/chat/authenticate", { body: { username: me.user.email, password } });
    expect((await login("a-changed-password-77")).status).toBe(200);
    expect((await login(me.password)).status).toBe(401);
    // The seeded session (another one) is over; the console's own still works.
    expect(await within(3000, async () => (await t.request("GET", "/api/auth/me", { token: me.accessToken })).status === 401)).toBe(true);
    await goTo(page, "tokens");
    await page.locator("#token-list").waitFor();
    await usersPage(page);
    expect(await page.locator("main .notice.error").count()).toBe(0);
    await page.close();
  }, 60_000);

  test("no script errors in any page", () => {
    expect(browser.errors).toEqual([]);
  });
});
