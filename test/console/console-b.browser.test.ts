// The console's users, tokens, chatflows and messages pages in a real browser (playwright-core
// driving Debian's chromium) against a real listening app, at 1280 px and at 390 px. Every action
// is checked through the API afterwards, not through the page.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { json, makeApp, seedUser, within, type SeededUser, type TestApp } from "../helpers";

const CHROMIUM = process.env.CONSOLE_CHROMIUM ?? "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[console-b.browser.test] SKIPPED: no browser at ${CHROMIUM}`);

let t: TestApp;
let base: string;
let admin: SeededUser;
let browser: BrowserContext;
let profile: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  t = await makeApp({});
  admin = await seedUser(t, { role: "admin", name: "Ada Admin", email: "ada@example.test" });
  t.app.listen({ port: 0, hostname: "127.0.0.1" });
  base = `http://127.0.0.1:${t.app.server!.port}`;
  const { chromium } = await import("playwright-core");
  profile = mkdtempSync(join(tmpdir(), "console-b-chromium-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}, 120_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await t.app.stop(true);
  await t.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function openConsole(width = 1280): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewportSize({ width, height: width < 600 ? 844 : 860 });
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) pageErrors.push(m.text());
  });
  await page.goto(`${base}/admin`);
  await page.fill("#signin-email", admin.user.email);
  await page.fill("#signin-password", admin.password);
  await page.click("#signin button[type=submit]");
  await page.locator("nav").waitFor();
  return page;
}

const api = (method: string, path: string, body?: unknown) => t.request(method, path, { token: admin.accessToken, body });

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

  test("no script errors in any page", () => {
    expect(pageErrors).toEqual([]);
  });
});
