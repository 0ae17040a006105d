// The console's Overview, API keys, Audit and Webhooks pages in a real browser (playwright-core
// driving Debian's chromium) against a real listening app; console-a11y.browser.test.ts checks
// every page at 390 px and with axe-core. Every action is checked through the API afterwards,
// not only through the page. CONSOLE_SCREENSHOTS=1 writes the README's screenshots
// (docs/console-overview.png, docs/console-keys.png, docs/console-audit.png).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { json, makeApp, seedUser, within, type SeededUser, type TestApp } from "../helpers";
import { startReceiver, WEBHOOK_ENV, type Receiver } from "../webhooks/helpers";
import { type Browser, go, hasChromium, launch, openConsole as open, CHROMIUM } from "./browser-helpers";

if (!hasChromium) console.warn(`[console-a.browser.test] SKIPPED: no browser at ${CHROMIUM}`);
const SHOTS = process.env.CONSOLE_SCREENSHOTS === "1" ? join(import.meta.dir, "../../docs") : undefined;

let t: TestApp;
let base: string;
let admin: SeededUser;
let una: SeededUser;
let unaKey: { id: string; key: string };
let receiver: Receiver;
let browser: Browser;

const api = (method: string, path: string, body?: unknown) => t.request(method, path, { token: admin.accessToken, body });
const validate = async (key: string) => (await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": key } })).status;
type UsagePoint = { id: string | null; requests: number; failed_logins: number };
const usage = async (q: string) => (await json<{ series: UsagePoint[] }>(await api("GET", `/api/admin/usage?${q}`))).series;
const openConsole = (): Promise<Page> => open(browser, base, admin);

beforeAll(async () => {
  if (!hasChromium) return;
  // The receiver is down for the first attempt: the console must show the retry.
  receiver = startReceiver((n) => (n === 1 ? 503 : 200));
  t = await makeApp({ ...WEBHOOK_ENV, USAGE_FLUSH_MS: "50" });
  admin = await seedUser(t, { role: "admin", name: "Ada Admin", email: "ada@example.test" });
  una = await seedUser(t, { name: "Una Usage", email: "una@example.test" });
  unaKey = await json(await api("POST", "/api/auth/api-keys", { name: "una's billing key", user_id: una.user.id, level: "write" }));
  expect((await t.request("POST", "/api/v1/chat/authenticate", { body: { username: una.user.email, password: "not-her-password" } })).status).toBe(401);
  for (let i = 0; i < 3; i++) expect(await validate(unaKey.key)).toBe(200);
  // The rollups are written in batches of everything counted so far: once the key's three
  // requests are in, so is the failed login made before them.
  expect(await within(10_000, async () => (await usage(`group_by=key&id=${unaKey.id}`)).reduce((a, r) => a + r.requests, 0) === 3)).toBe(true);
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

describe.skipIf(!hasChromium)("console (shell, overview, keys, audit, webhooks) in chromium", () => {
  test("opens on Overview: usage charts from the usage API, top keys by credits, the outbox backlog; ranges switch", async () => {
    const page = await openConsole();
    await page.locator("nav button[data-page=overview][aria-current=page]").waitFor();
    await page.locator("#chart-requests svg[role=img]").waitFor();
    for (const id of ["chart-requests", "chart-predictions", "chart-credits", "chart-errors", "chart-logins"]) {
      expect(await page.locator(`#${id} svg title`).textContent()).toContain("last 24 hours");
    }
    // The failed login of the set-up is in the logins chart, in words for screen readers.
    const since = new Date(Date.now() - 24 * 3600_000).toISOString();
    const failed = (await usage(`group_by=none&granularity=hour&since=${since}`)).reduce((a, r) => a + r.failed_logins, 0);
    expect(await page.locator("#chart-logins svg desc").textContent()).toContain(`Failed: ${failed} in total`);
    // Top keys: the seeded key with its three requests, as the API counts them.
    const keyRows = await usage(`group_by=key&id=${unaKey.id}`);
    const row = page.locator("#top-keys tr", { hasText: "una's billing key" });
    await row.waitFor();
    expect(await row.locator("td").nth(2).textContent()).toBe(String(keyRows.reduce((a, r) => a + r.requests, 0)));
    expect(await row.textContent()).toContain("una@example.test");
    const queued = await json(await api("GET", "/api/messages?status=queued&limit=1"));
    expect(await page.locator("#tile-queued .value").textContent()).toBe(String(queued.total));

    await page.click("button[data-range='7d']");
    await page.locator("button[data-range='7d'][aria-pressed=true]").waitFor();
    await page.locator("#chart-requests svg title", { hasText: "last 7 days" }).waitFor({ state: "attached" });
    await page.click("button[data-range='24h']");
    await page.locator("#chart-requests svg title", { hasText: "last 24 hours" }).waitFor({ state: "attached" });
    if (SHOTS) await page.screenshot({ path: join(SHOTS, "console-overview.png"), fullPage: true });
    await page.close();
  }, 60_000);

  test("API keys: one list searched and filtered by the server, create defaults to write, roll and revoke", async () => {
    const other = await seedUser(t, { name: "Otto Other", email: "otto@example.test" });
    const page = await openConsole();
    await go(page, "keys");
    await page.locator("#key-list tr", { hasText: "una's billing key" }).locator("td", { hasText: "3 requests" }).waitFor();

    // Create without touching the level: it is write.
    expect(await page.locator("#create-key select[name=level]").inputValue()).toBe("write");
    await page.fill("#create-key input[name=key-name]", "otto ci");
    await page.selectOption("#create-key select[name=key-user]", other.user.id);
    await page.click("#create-key button[type=submit]");
    const secret = (await page.locator("#key-result code.secret").textContent())!.trim();
    await page.locator("#create-key-result", { hasText: 'Key "otto ci" created (level write).' }).waitFor();
    expect(await validate(secret)).toBe(200);
    const listed = await json<Array<{ id: string; level: string; name: string; user_email: string }>>(await api("GET", `/api/auth/api-keys?user_id=${other.user.id}`));
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ name: "otto ci", level: "write", user_email: "otto@example.test" });
    const ottoKey = listed[0]!.id;
    // The form is empty again, ready for the next key; its level is write again.
    expect(await page.locator("#create-key input[name=key-name]").inputValue()).toBe("");

    // Search by the owner's email: only Otto's key.
    await page.fill("#key-filters input[name=key-search]", "otto@");
    await page.click("#key-filters button[type=submit]");
    await page.locator("#key-count", { hasText: "1 key match." }).waitFor();
    expect(await page.locator("#key-list tbody tr").count()).toBe(1);

    // Roll with no grace: the old secret stops at once, the new one works, the id stays.
    await page.click(`#key-list button[data-roll-key="${ottoKey}"]`);
    await page.fill("#roll-key input[name=roll-grace]", "0");
    await page.click("#roll-key button[type=submit]");
    const rolled = (await page.locator("#roll-secret code.secret").textContent())!.trim();
    await page.locator("#key-roll-result", { hasText: "rolled" }).waitFor();
    expect(rolled).not.toBe(secret);
    expect(await validate(rolled)).toBe(200);
    expect(await within(5_000, async () => (await validate(secret)) === 401)).toBe(true);
    const after = await json<Array<{ id: string; start: string }>>(await api("GET", `/api/auth/api-keys?user_id=${other.user.id}`));
    expect(after.map((k) => k.id)).toEqual([ottoKey]);
    expect(after[0]!.start).toBe(rolled.slice(0, 12));
    if (SHOTS) {
      await page.fill("#key-filters input[name=key-search]", "");
      await page.click("#key-filters button[type=submit]");
      await page.locator("#key-list tr", { hasText: "una's billing key" }).waitFor();
      await page.screenshot({ path: join(SHOTS, "console-keys.png"), fullPage: true });
      await page.fill("#key-filters input[name=key-search]", "otto@");
      await page.click("#key-filters button[type=submit]");
      await page.locator("#key-count", { hasText: "1 key match." }).waitFor();
    }

    // Revoke after confirming; then the status filter finds it among the revoked.
    await page.click(`#key-list button[data-revoke-key="${ottoKey}"]`);
    await page.click(".dialog button[data-confirm=yes]");
    await page.locator("#keys-status", { hasText: 'Key "otto ci" revoked.' }).waitFor();
    expect(await validate(rolled)).toBe(401);
    const revoked = await json<Array<{ revoked_at: string | null }>>(await api("GET", `/api/auth/api-keys?user_id=${other.user.id}&status=revoked`));
    expect(revoked).toHaveLength(1);
    await page.fill("#key-filters input[name=key-search]", "");
    await page.selectOption("#key-filters select[name=key-filter-status]", "revoked");
    await page.locator("#key-count", { hasText: "1 key match." }).waitFor();
    await page.locator("#key-list tr", { hasText: "otto ci" }).waitFor();
    await page.close();
  }, 60_000);

  test("audit: the roll and the revocation are rows, filtered by action and target, exported as CSV and NDJSON", async () => {
    const page = await openConsole();
    const [key] = await json<Array<{ id: string }>>(await api("GET", "/api/auth/api-keys?q=otto%20ci"));
    await go(page, "audit");
    await page.fill("#audit-filters input[name=audit-action]", "api_key.rolled");
    await page.fill("#audit-filters input[name=audit-target]", key!.id);
    await page.click("#audit-filters button[type=submit]");
    await page.waitForFunction(() => document.querySelectorAll("#audit-list tbody tr").length === 1);
    expect(await page.locator("#audit-list tbody").textContent()).toContain(`api_key ${key!.id}`);
    const rows = await json<{ events: Array<{ action: string; actor: { id: string } }> }>(await api("GET", `/api/admin/audit?action=api_key.rolled&target_id=${key!.id}`));
    expect(rows.events).toHaveLength(1);
    expect(rows.events[0]!.actor.id).toBe(admin.user.id);
    expect(await page.locator("#audit-list tbody").textContent()).toContain(admin.user.id);
    for (const [button, file] of [
      ["#audit-export-csv", "audit.csv"],
      ["#audit-export-ndjson", "audit.ndjson"],
    ] as const) {
      const download = page.waitForEvent("download");
      await page.click(button);
      const d = await download;
      expect(d.suggestedFilename()).toBe(file);
      const text = readFileSync((await d.path())!, "utf8");
      expect(text).toContain(key!.id);
    }
    await page.locator(".notice.ok", { hasText: "Exported 1 events as NDJSON." }).waitFor();
    await page.fill("#audit-filters input[name=audit-action]", "");
    await page.fill("#audit-filters input[name=audit-target]", "");
    await page.click("#audit-filters button[type=submit]");
    await page.waitForFunction(() => document.querySelectorAll("#audit-list tbody tr").length > 3);
    if (SHOTS) await page.screenshot({ path: join(SHOTS, "console-audit.png"), fullPage: true });
    await page.close();
  }, 60_000);

  test("webhooks: add (secret shown once), refused input kept and the error in words, test delivery after an outage, edit, delete", async () => {
    const page = await openConsole();
    await go(page, "webhooks");
    // A private address over http is refused: the API's words, the input kept.
    await page.fill("#create-webhook input[name=webhook-url]", "http://10.1.2.3/hook");
    await page.fill("#create-webhook input[name=webhook-events]", "api_key.*");
    await page.click("#create-webhook button[type=submit]");
    const error = page.locator("#create-webhook .notice.error");
    await error.waitFor();
    expect(await error.textContent()).toMatch(/\(HTTP 4\d\d\)$/);
    expect((await error.textContent())!.length).toBeGreaterThan(25);
    expect(await page.locator("#create-webhook input[name=webhook-url]").inputValue()).toBe("http://10.1.2.3/hook");
    expect((await json(await api("GET", "/api/admin/webhooks"))).total).toBe(0);

    await page.fill("#create-webhook input[name=webhook-url]", receiver.url);
    await page.fill("#create-webhook input[name=webhook-events]", "api_key.*, credits.low");
    await page.fill("#create-webhook input[name=webhook-description]", "support desk");
    await page.click("#create-webhook button[type=submit]");
    const secret = (await page.locator("#webhook-secret code.secret").textContent())!.trim();
    expect(secret).toStartWith("whsec_");
    receiver.setSecret(secret);
    const hooks = await json<{ webhooks: Array<{ id: string; url: string; events: string[]; description: string; enabled: boolean }> }>(await api("GET", "/api/admin/webhooks"));
    expect(hooks.webhooks).toHaveLength(1);
    const hook = hooks.webhooks[0]!;
    expect(hook).toMatchObject({ url: receiver.url, events: ["api_key.*", "credits.low"], description: "support desk", enabled: true });
    expect(JSON.stringify(hooks)).not.toContain(secret);

    // Test: the first attempt meets the outage (503), the retry is delivered and verified.
    await page.click(`#webhook-list button[data-test="${hook.id}"]`);
    await page.locator("#delivery-list td", { hasText: "webhook.test" }).waitFor();
    await receiver.until(() => receiver.verified.length === 1);
    expect(receiver.verified[0]!.type).toBe("webhook.test");
    const sent = async () =>
      (await json<{ deliveries: Array<{ status: string }> }>(await api("GET", `/api/admin/webhooks/${hook.id}/deliveries`))).deliveries[0]!.status === "sent";
    expect(await within(10_000, sent)).toBe(true);
    await page.click("#deliveries-refresh");
    const delivered = page.locator("#delivery-list tbody tr").first();
    await page.locator("#delivery-list tbody tr td", { hasText: "sent" }).waitFor();
    const d = (
      await json<{ deliveries: Array<{ attempts: number; response_code: number; last_error: string | null }> }>(await api("GET", `/api/admin/webhooks/${hook.id}/deliveries`))
    ).deliveries[0]!;
    expect(d.attempts).toBe(2);
    expect(d.response_code).toBe(200);
    const cells = await delivered.locator("td").allTextContents();
    expect(cells.slice(0, 4)).toEqual(["webhook.test", "sent", "2", "200"]);

    // Edit: description and disabled.
    await page.click(`#webhook-list button[data-edit="${hook.id}"]`);
    await page.fill("#edit-webhook input[name=edit-description]", "support desk (paused)");
    await page.uncheck("#edit-webhook input[name=edit-enabled]");
    await page.click("#edit-webhook button[type=submit]");
    await page.locator("#edit-webhook .notice.ok").waitFor();
    expect(await json(await api("GET", `/api/admin/webhooks/${hook.id}`))).toMatchObject({ description: "support desk (paused)", enabled: false });

    // Delete after confirming.
    await page.click(`#webhook-list button[data-delete="${hook.id}"]`);
    await page.click(".dialog button[data-confirm=yes]");
    await page.locator("#webhooks-status", { hasText: "deleted" }).waitFor();
    expect((await api("GET", `/api/admin/webhooks/${hook.id}`)).status).toBe(404);
    await page.close();
  }, 60_000);

  test("no script errors in any page", () => {
    expect(browser.errors).toEqual([]);
  });
});
