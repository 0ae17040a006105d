// /swagger in a real browser (playwright-core driving Debian's chromium) with every request to
// another origin refused, as on a machine without network: the reference must render from what
// the binary serves, under its CSP, without a violation.
// CONSOLE_CHROMIUM overrides the browser path; CONSOLE_SCREENSHOTS=1 also writes docs/api-reference.png.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext } from "playwright-core";
import { makeApp, type TestApp } from "../helpers";

const CHROMIUM = process.env.CONSOLE_CHROMIUM ?? "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[reference.browser.test] SKIPPED: no browser at ${CHROMIUM} (apt-get install -y chromium)`);
const SHOT = process.env.CONSOLE_SCREENSHOTS === "1" ? join(import.meta.dir, "../../docs/api-reference.png") : undefined;

let t: TestApp;
let base: string;
let browser: BrowserContext;
let profile: string;

beforeAll(async () => {
  if (!hasChromium) return;
  t = await makeApp();
  t.app.listen({ port: 0, hostname: "127.0.0.1" });
  base = `http://127.0.0.1:${t.app.server!.port}`;
  const { chromium } = await import("playwright-core");
  profile = mkdtempSync(join(tmpdir(), "reference-chromium-"));
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

describe.if(hasChromium)("/swagger in a browser, offline", () => {
  test("renders the operations from the binary alone, with no CSP violation", async () => {
    const elsewhere: string[] = [];
    const problems: string[] = [];
    const page = await browser.newPage();
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(base) || url.startsWith("data:") || url.startsWith("blob:")) return route.continue();
      elsewhere.push(url);
      return route.abort("internetdisconnected");
    });
    page.on("pageerror", (e) => problems.push(e.message));
    page.on("console", (m) => {
      // Scalar's own Vue warning about its pre-rendered markup is not a fault of the page.
      if (m.text().startsWith("Hydration completed but contains mismatches")) return;
      if (m.type() === "error" || /Content Security Policy/i.test(m.text())) problems.push(m.text());
    });
    await page.goto(`${base}/swagger`);
    // The sidebar lists operations once the document is loaded and rendered.
    await page.getByText("Issue an API token for a user (admin)").first().waitFor({ timeout: 60_000 });
    await page.getByText("OpenAPI 3.1.0").first().waitFor({ timeout: 60_000 });
    if (SHOT) await page.screenshot({ path: SHOT });
    expect(elsewhere).toEqual([]);
    expect(problems.filter((p) => /Content Security Policy|Refused to/i.test(p))).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);
});
