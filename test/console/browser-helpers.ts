// What the console browser tests share: launching Debian's chromium, signing in, moving between
// pages, the sideways-overflow check and the axe-core scan.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import type { SeededUser } from "../helpers";

export const CHROMIUM = process.env.CONSOLE_CHROMIUM ?? "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);
const AXE = readFileSync(join(import.meta.dir, "../../node_modules/axe-core/axe.min.js"), "utf8");

/** Every page of the console, in the order of its navigation. */
export const PAGES = ["overview", "users", "tokens", "keys", "chatflows", "messages", "audit", "webhooks"];

export interface Browser {
  context: BrowserContext;
  /** Script errors and console errors of every page opened. */
  errors: string[];
  close(): Promise<void>;
}

export async function launch(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "console-a-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    // Only so axe-core can be injected as a script tag; the CSP itself is checked by console.browser.test.ts.
    bypassCSP: true,
    acceptDownloads: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    context,
    errors: [],
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A new tab at `width` px, signed in as `who`, showing the console's first page. */
export async function openConsole(b: Browser, base: string, who: SeededUser, width = 1280): Promise<Page> {
  const page = await b.context.newPage();
  await page.setViewportSize({ width, height: width < 600 ? 844 : 860 });
  page.on("pageerror", (e) => b.errors.push(e.message));
  page.on("console", (m) => {
    // Refused API calls (a test's deliberate 4xx) are expected; script errors are not.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) b.errors.push(m.text());
  });
  await page.goto(`${base}/admin`);
  await page.fill("#signin-email", who.user.email);
  await page.fill("#signin-password", who.password);
  await page.click("#signin button[type=submit]");
  await page.locator("nav").waitFor();
  return page;
}

/** Shows a page and waits until nothing on it is still loading. */
export async function go(page: Page, name: string): Promise<void> {
  await page.click(`nav button[data-page=${name}]`);
  await page.locator(`nav button[data-page=${name}][aria-current=page]`).waitFor();
  await page.waitForFunction(() => !document.querySelector("main")?.textContent?.includes("Loading…"));
}

/** How many px the page is wider than the window (0 or less: nothing off-screen sideways). */
export const overflow = (page: Page) => page.evaluate(() => document.scrollingElement!.scrollWidth - window.innerWidth);

/** axe-core's serious and critical findings on the current page (rule ids and the first offending nodes). */
export async function axe(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ content: AXE });
  const found = (await page.evaluate(async () => {
    const r = await (
      window as unknown as { axe: { run(ctx: Document, o: unknown): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> }> } }
    ).axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  })) as Array<{ id: string; impact: string; nodes: string[] }>;
  return found.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.nodes.join(", ")}`);
}
