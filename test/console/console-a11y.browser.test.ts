// Every page of the console at 1280 px and at 390 px (a phone): nothing off-screen sideways and no
// serious or critical axe-core finding; dark mode following the system; the favicon; keyboard use.
// The app holds a little of everything first (users, a key with usage, a chatflow, an API token, a
// webhook with a delivery, audit rows), so the pages are scanned with rows in their tables.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { json, makeApp, seedUser, within, type SeededUser, type TestApp } from "../helpers";
import { startReceiver, WEBHOOK_ENV, type Receiver } from "../webhooks/helpers";
import { axe, type Browser, CHROMIUM, go, hasChromium, launch, openConsole, overflow, PAGES } from "./browser-helpers";

if (!hasChromium) console.warn(`[console-a11y.browser.test] SKIPPED: no browser at ${CHROMIUM}`);

let t: TestApp;
let base: string;
let admin: SeededUser;
let receiver: Receiver;
let browser: Browser;

beforeAll(async () => {
  if (!hasChromium) return;
  receiver = startReceiver();
  t = await makeApp({ ...WEBHOOK_ENV, USAGE_FLUSH_MS: "50" });
  admin = await seedUser(t, { role: "admin", name: "Ada Admin", email: "ada@example.test" });
  const api = (method: string, path: string, body?: unknown) => t.request(method, path, { token: admin.accessToken, body });
  const user = await seedUser(t, { name: "Bartholomew Longname-Wellington", email: "bartholomew.longname-wellington@example.test" });
  const key = await json(await api("POST", "/api/auth/api-keys", { name: "a key with a rather long descriptive name", user_id: user.user.id, level: "write" }));
  expect((await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": key.key } })).status).toBe(200);
  expect((await api("POST", "/api/admin/chatflows", { id: "5d1c9a8e-2b3f-4c6d-8e7f-9a0b1c2d3e4f", name: "Helpdesk", cost: 2 })).status).toBe(201);
  expect((await api("POST", "/api/admin/tokens", { userId: user.user.id })).status).toBe(200);
  const hook = await json(await api("POST", "/api/admin/webhooks", { url: receiver.url, events: ["api_key.*"], description: "support desk" }));
  receiver.setSecret(hook.secret);
  expect((await api("POST", `/api/admin/webhooks/${hook.id}/test`)).status).toBe(202);
  await receiver.until(() => receiver.verified.length === 1);
  expect(await within(10_000, async () => (await json(await api("GET", `/api/admin/usage?group_by=key&id=${key.id}`))).series.length > 0)).toBe(true);
  t.app.listen({ port: 0, hostname: "127.0.0.1" });
  base = `http://127.0.0.1:${t.app.server!.port}`;
  browser = await launch();
}, 120_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await t.app.stop(true);
  await t.close();
  receiver?.stop();
});

describe.skipIf(!hasChromium)("console accessibility and layout in chromium", () => {
  for (const width of [1280, 390]) {
    test(`every page at ${width} px: nothing off-screen sideways, no serious or critical axe-core finding`, async () => {
      const page = await openConsole(browser, base, admin, width);
      const problems: string[] = [];
      for (const name of PAGES) {
        await go(page, name);
        const over = await overflow(page);
        if (over > 0) problems.push(`${name}: page is ${over}px wider than the screen`);
        for (const v of await axe(page)) problems.push(`${name}: ${v}`);
      }
      expect(problems).toEqual([]);
      await page.close();
    }, 120_000);
  }

  test("dark mode follows the system, with no contrast findings; favicon; keyboard: skip link and visible focus", async () => {
    const page = await browser.context.newPage();
    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto(`${base}/admin`);
    const icon = await page.locator("link[rel=icon]").getAttribute("href");
    expect((await t.request("GET", icon!)).headers.get("content-type")).toStartWith("image/svg+xml");
    expect(await axe(page)).toEqual([]);
    await page.fill("#signin-email", admin.user.email);
    await page.fill("#signin-password", admin.password);
    await page.keyboard.press("Enter");
    await page.locator("#chart-requests svg").waitFor();
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g)!.map(Number);
    expect(r! + g! + b!).toBeLessThan(150);
    expect(await axe(page)).toEqual([]);
    await go(page, "keys");
    expect(await axe(page)).toEqual([]);

    // Keyboard: from the header, Tab reaches the first page button with a visible outline;
    // before it is the skip link.
    await page.click("header .brand");
    await page.keyboard.press("Tab");
    const focus = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      return { page: el.dataset.page, outline: getComputedStyle(el).outlineStyle, width: getComputedStyle(el).outlineWidth };
    });
    expect(focus.page).toBe("overview");
    expect(focus.outline).toBe("solid");
    expect(focus.width).toBe("3px");
    await page.keyboard.press("Shift+Tab");
    expect(await page.evaluate(() => document.activeElement?.className)).toBe("skip");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    // The chosen page's heading takes the focus once it has loaded.
    await page.waitForFunction(() => document.activeElement?.tagName === "H2" && document.activeElement.textContent === "Overview");
    await page.close();
  }, 60_000);

  test("no script errors in any page", () => {
    expect(browser.errors).toEqual([]);
  });
});
