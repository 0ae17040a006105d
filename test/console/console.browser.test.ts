// The console in a real browser (playwright-core driving Debian's chromium) against a real
// listening app: every action is checked through the API afterwards, not through the page.
// CONSOLE_CHROMIUM overrides the browser path. The README's screenshots come from console-a.browser.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { startFlowiseDouble, type FlowiseDouble } from "../doubles/flowise";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";

const CHROMIUM = process.env.CONSOLE_CHROMIUM ?? "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[console.browser.test] SKIPPED: no browser at ${CHROMIUM} (install Debian's chromium: apt-get install -y chromium)`);

const EVIL = "<script>alert(1)</script>";

const FLOWISE_KEY = "console-test-flowise-key";
const SYNCED = { id: "7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098", name: "Flowise Support" };

let t: TestApp;
let flowise: FlowiseDouble;
let base: string;
let admin: SeededUser;
let plain: SeededUser;
let browser: BrowserContext;
let profile: string;
const dialogs: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  flowise = await startFlowiseDouble({ apiKey: FLOWISE_KEY, chatflows: [SYNCED], heartbeatMs: 0 });
  t = await makeApp({ FLOWISE_URL: flowise.url, FLOWISE_API_KEY: FLOWISE_KEY, FLOWISE_TIMEOUT: "5" });
  admin = await seedUser(t, { role: "admin", name: "Ada Admin", email: "ada@example.test" });
  plain = await seedUser(t, { name: "Pat Plain", email: "pat@example.test" });
  for (const [name, email] of [
    ["Grace Hopper", "grace@example.test"],
    ["Linus Ops", "linus@example.test"],
  ])
    await seedUser(t, { name, email });
  t.app.listen({ port: 0, hostname: "127.0.0.1" });
  base = `http://127.0.0.1:${t.app.server!.port}`;
  const { chromium } = await import("playwright-core");
  profile = mkdtempSync(join(tmpdir(), "console-chromium-"));
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
  await flowise?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function openConsole(opts: { fakeClock?: boolean } = {}): Promise<Page> {
  const page = await browser.newPage();
  if (opts.fakeClock) await page.clock.install();
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("console", (m) => {
    // Refused API calls (401 on a wrong password, 503 from an unconfigured Flowise) are expected.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) pageErrors.push(m.text());
  });
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(`${base}/admin`);
  return page;
}

async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.fill("#signin-email", email);
  await page.fill("#signin-password", password);
  await page.click("#signin button[type=submit]");
}

/** The console opens on Overview; most tests here start on the Users page. */
async function toUsers(page: Page): Promise<void> {
  await page.locator("nav").waitFor();
  await page.click("nav button[data-page=users]");
  await page.locator("#user-list table").waitFor();
}

async function activeSessions(who: SeededUser): Promise<number> {
  const answer = (await (await t.request("GET", "/api/v1/chat/tokens", { token: who.accessToken })).json()) as { tokens: Array<{ active: boolean }> };
  return answer.tokens.filter((x) => x.active).length;
}

const api = (method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}) => t.request(method, path, { token: admin.accessToken, ...opts });

describe.skipIf(!hasChromium)("admin console in chromium", () => {
  test("a non-admin is told they are not allowed and stays on the sign-in form", async () => {
    const page = await openConsole();
    await signIn(page, plain.user.email, plain.password);
    await page.getByText("not an administrator").waitFor();
    expect(await page.locator("nav").count()).toBe(0);
    // The session the refused sign-in created was revoked at once: only the seeded one is live.
    expect(await activeSessions(plain)).toBe(1);
    await page.close();
  });

  test("a wrong password is shown in words", async () => {
    const page = await openConsole();
    await signIn(page, admin.user.email, "wrong-password");
    const error = page.locator("#signin .notice.error");
    await error.waitFor();
    expect(await error.textContent()).toContain("401");
    await page.close();
  });

  test("the access token is refreshed before it expires, and sign-out revokes the session", async () => {
    const page = await openConsole({ fakeClock: true });
    await signIn(page, admin.user.email, admin.password);
    await toUsers(page);
    expect(await activeSessions(admin)).toBe(2);

    const refreshed = page.waitForResponse((r) => r.url().endsWith("/api/v1/chat/refresh"));
    await page.clock.fastForward(t.config.accessTokenTtlSec * 1000 - 1000);
    expect((await refreshed).status()).toBe(200);
    // Rotation: the console's old refresh token is used, its new one is the live one.
    expect(await activeSessions(admin)).toBe(2);
    await page.click("nav button[data-page=users]");
    await page.locator("#user-list table").waitFor();

    const revoked = page.waitForResponse((r) => r.url().endsWith("/api/v1/chat/revoke"));
    await page.click("#signout");
    expect((await revoked).status()).toBe(200);
    await page.locator("#signin").waitFor();
    expect(await activeSessions(admin)).toBe(1);
    await page.close();
  }, 60_000);

  test("admin: create a user, grant credits, generate an API token, create and revoke an API key", async () => {
    const page = await openConsole();
    await signIn(page, admin.user.email, admin.password);
    await toUsers(page);

    // The access token lives in memory only.
    const stored = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie }));
    expect(stored).toEqual({ local: 0, session: 0, cookie: "" });

    // Create a user whose name is markup: it must render as text.
    await page.click("details summary");
    await page.fill("#create-user input[name=email]", "mallory@example.test");
    await page.fill("#create-user input[name=name]", EVIL);
    await page.fill("#create-user input[name=password]", "a-long-enough-password-1");
    await page.click("#create-user button[type=submit]");
    await page.getByText("Created user mallory@example.test").waitFor();
    const listed = (await (await api("GET", "/api/auth/users")).json()) as { users: Array<{ id: string; email: string; name: string; role: string }> };
    const mallory = listed.users.find((u) => u.email === "mallory@example.test")!;
    expect(mallory).toMatchObject({ name: EVIL, role: "user" });

    await page.getByRole("cell", { name: EVIL, exact: true }).waitFor();
    expect(await page.locator("script").count()).toBe(1);
    expect(dialogs).toEqual([]);

    // Grant credits from the user's panel.
    await page.click(`button[data-user="${mallory.id}"]`);
    await page.locator("#balance", { hasText: "0" }).waitFor();
    await page.fill("#grant-form input[name=amount]", "250");
    await page.fill("#grant-form input[name=reason]", "console test grant");
    await page.click("#grant-form button[type=submit]");
    await page.locator("#balance", { hasText: "250" }).waitFor();
    await page.locator("#ledger", { hasText: "console test grant" }).waitFor();
    const balance = await (await api("GET", `/api/admin/users/${mallory.id}/credits`)).json();
    expect(balance.credits_remaining).toBe(250);
    // A refused correction (below zero) is shown in the API's words and changes nothing.
    await page.fill("#grant-form input[name=amount]", "-1000");
    await page.fill("#grant-form input[name=reason]", "too much");
    await page.click("#grant-form button[type=submit]");
    // Shown beside the form that produced it (forms.ts), not in a page-wide line.
    const refused = await page.locator("#grant-form-result.error").textContent();
    expect(refused).toContain("409");
    expect(refused!.length).toBeGreaterThan(20);
    expect((await (await api("GET", `/api/admin/users/${mallory.id}/credits`)).json()).credits_remaining).toBe(250);

    // API token: the contract's generate form, shown once.
    await page.click("nav button[data-page=tokens]");
    await page.selectOption("#generate-token select[name=token-user]", mallory.id);
    await page.click("#generate-token button[type=submit]");
    const token = (await page.locator("#token-result code.secret").textContent())!.trim();
    expect(token.split(".")).toHaveLength(3);
    const tokens = await (await api("GET", `/api/admin/tokens?userId=${mallory.id}`)).json();
    expect(tokens.count).toBe(1);
    expect(tokens.tokens[0]).toMatchObject({ userId: mallory.id, expiresAt: null, active: true });
    expect((await t.request("GET", "/api/messages", { token })).status).toBe(200);
    await page.locator("#token-list button[data-revoke-token]").waitFor();

    // API key: create (shown once), see it in the list, revoke with confirmation.
    await page.click("nav button[data-page=keys]");
    await page.fill("#create-key input[name=key-name]", "ci key");
    await page.selectOption("#create-key select[name=key-user]", mallory.id);
    await page.selectOption("#create-key select[name=level]", "write");
    await page.selectOption("#create-key select[name=environment]", "test");
    await page.fill("#create-key input[name=allowed-domains]", "app.example.com, *.example.org");
    await page.fill("#create-key input[name=key-rate-limit]", "50");
    await page.fill("#create-key input[name=key-rate-window]", "30");
    await page.click("#create-key button[type=submit]");
    const key = (await page.locator("#key-result code.secret").textContent())!.trim();
    const origin = { origin: "https://app.example.com" };
    const valid = await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": key, ...origin } });
    expect(valid.status).toBe(200);
    expect(await valid.json()).toMatchObject({ valid: true, level: "write", name: "ci key" });
    const keys = (await (await api("GET", `/api/auth/api-keys?user_id=${mallory.id}`)).json()) as Array<{
      id: string;
      environment: string;
      allowed_domains: string[];
      revoked_at: string | null;
    }>;
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ environment: "test", allowed_domains: ["app.example.com", "*.example.org"], revoked_at: null });
    // Its rate limit: shown in the list, changed, then removed (back to the owner's).
    expect(valid.headers.get("ratelimit-policy")).toBe('"key";q=50;w=30');
    await page.locator("#key-list", { hasText: "50 per 30 s" }).waitFor();
    await page.click(`#key-list button[data-limit-key="${keys[0]!.id}"]`);
    await page.fill("#key-limit-form input[name=key-limit-form-limit]", "70");
    await page.fill("#key-limit-form input[name=key-limit-form-window]", "60");
    await page.click("#key-limit-form button[type=submit]");
    await page.locator("#key-list", { hasText: "70 per 60 s" }).waitFor();
    const limits = async () => (await (await api("GET", `/api/auth/rate-limits?subject_kind=key&subject_ids=${keys[0]!.id}`)).json()).policies;
    expect(await limits()).toEqual([{ subject_id: keys[0]!.id, rate_limit: { limit: 70, window_s: 60 } }]);
    await page.click(`#key-list button[data-limit-key="${keys[0]!.id}"]`);
    await page.click("#key-limit-form-remove");
    await page.locator("#key-list", { hasText: "owner's" }).waitFor();
    expect(await limits()).toEqual([]);

    await page.click(`#key-list button[data-revoke-key="${keys[0]!.id}"]`);
    await page.click(".dialog button[data-confirm=yes]");
    await page.locator("#key-list", { hasText: "revoked" }).waitFor();
    const after = (await (await api("GET", `/api/auth/api-keys?user_id=${mallory.id}`)).json()) as Array<{ revoked_at: string | null }>;
    expect(after[0]!.revoked_at).not.toBeNull();
    expect((await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": key, ...origin } })).status).toBe(401);

    // Nothing secret ever reached the address bar; sign-out returns to the form.
    expect(page.url()).toBe(`${base}/admin`);
    await page.click("#signout");
    await page.locator("#signin").waitFor();
    expect(dialogs).toEqual([]);
    await page.close();
  }, 60_000);

  test("overview, chatflows and messages pages load; a chatflow grant made in the page is seen by the API", async () => {
    const flowId = "5d1c9a8e-2b3f-4c6d-8e7f-9a0b1c2d3e4f";
    expect((await api("POST", "/api/admin/chatflows", { body: { id: flowId, name: "Helpdesk", cost: 2 } })).status).toBe(201);
    const page = await openConsole();
    await signIn(page, admin.user.email, admin.password);
    await toUsers(page);

    await page.click("nav button[data-page=overview]");
    await page.locator("#chart-logins svg").waitFor();
    const users = (await (await api("GET", "/api/auth/users")).json()) as { count: number };
    await page.locator("#tile-users .value", { hasText: String(users.count) }).waitFor();

    await page.click("nav button[data-page=chatflows]");
    await page.getByRole("cell", { name: "Helpdesk", exact: true }).waitFor();
    await page.click("#sync-chatflows");
    await page.getByText("Synced: 1 new, 0 updated, 1 in Flowise.").waitFor();
    await page.getByRole("cell", { name: SYNCED.name, exact: true }).waitFor();
    const flows = (await (await api("GET", "/api/admin/chatflows")).json()) as { chatflows: Array<{ id: string }> };
    expect(flows.chatflows.map((c) => c.id).sort()).toEqual([flowId, SYNCED.id].sort());
    await page.locator("#chatflow-list tr", { hasText: "Helpdesk" }).getByRole("button", { name: "Users" }).click();
    await page.selectOption("#chatflow-users select[name=grant-user]", plain.user.id);
    await page.click("#chatflow-users button[type=submit]");
    await page.locator("#chatflow-users td", { hasText: plain.user.email }).waitFor();
    const granted = await (await api("GET", `/api/admin/chatflows/${flowId}/users`)).json();
    expect(granted.users.map((u: { id: string }) => u.id)).toEqual([plain.user.id]);
    const seen = await (await t.request("GET", "/api/v1/chat/chatflows", { token: plain.accessToken })).json();
    expect(seen.chatflows.map((c: { id: string }) => c.id)).toContain(flowId);

    // Its own overrideConfig allow list, then back to the global one.
    const helpdesk = page.locator("#chatflow-list tr", { hasText: "Helpdesk" });
    await helpdesk.getByRole("checkbox", { name: "Helpdesk has its own override list" }).check();
    await helpdesk.getByRole("textbox", { name: "overrideConfig keys of Helpdesk" }).fill("temperature, maxTokens");
    await helpdesk.getByRole("button", { name: "Save" }).click();
    await page.getByText("Saved Helpdesk", { exact: false }).waitFor();
    const own = await (await api("GET", "/api/admin/chatflows")).json();
    expect(own.chatflows.find((c: { id: string }) => c.id === flowId).override_allow).toEqual(["temperature", "maxTokens"]);
    await page.locator("#chatflow-list tr", { hasText: "Helpdesk" }).getByRole("checkbox", { name: "Helpdesk has its own override list" }).uncheck();
    await page.locator("#chatflow-list tr", { hasText: "Helpdesk" }).getByRole("button", { name: "Save" }).click();
    await page.getByText("overrides: global list", { exact: false }).waitFor();
    const global = await (await api("GET", "/api/admin/chatflows")).json();
    expect(global.chatflows.find((c: { id: string }) => c.id === flowId).override_allow).toBeNull();

    await page.click("nav button[data-page=messages]");
    await page.getByRole("heading", { name: "Outbox" }).waitFor();
    await page.getByRole("heading", { name: "Contacts" }).waitFor();
    expect(await page.locator("main .notice.error").count()).toBe(0);
    await page.close();
  }, 60_000);

  test("users: search, change role, reset password, disable only after confirming", async () => {
    const victor = await seedUser(t, { name: "Victor Vance", email: "victor@example.test" });
    const page = await openConsole();
    await signIn(page, admin.user.email, admin.password);
    await toUsers(page);
    await page.fill("input[name=search]", "victor@");
    // The search runs on the server once typing pauses: wait for its answer (one row).
    await page.waitForFunction(() => document.querySelectorAll("#user-list tbody tr").length === 1);
    expect(await page.locator("#user-list tbody tr").count()).toBe(1);
    await page.click(`button[data-user="${victor.user.id}"]`);

    await page.selectOption("#role-form select[name=role]", "admin");
    await page.click("#role-form button[type=submit]");
    await page.getByText("Role of victor@example.test is now admin.").waitFor();
    const listed = (await (await api("GET", "/api/auth/users")).json()) as { users: Array<{ id: string; role: string; disabled: boolean }> };
    expect(listed.users.find((u) => u.id === victor.user.id)!.role).toBe("admin");

    await page.fill("#password-form input[name=new-password]", "a-brand-new-password-7");
    await page.click("#password-form button[type=submit]");
    await page.getByText("Password of victor@example.test reset").waitFor();
    const login = await t.request("POST", "/api/v1/chat/authenticate", { body: { username: "victor@example.test", password: "a-brand-new-password-7" } });
    expect(login.status).toBe(200);

    // The user's own rate limit, set and shown.
    await page.locator("#user-limit-text", { hasText: "No limit of their own" }).waitFor();
    await page.fill("#user-limit-form input[name=user-limit-form-limit]", "600");
    await page.fill("#user-limit-form input[name=user-limit-form-window]", "60");
    await page.click("#user-limit-form button[type=submit]");
    await page.locator("#user-limit-text", { hasText: "Own limit: 600 per 60 s" }).waitFor();
    const userLimits = await (await api("GET", `/api/auth/rate-limits?subject_kind=user&subject_ids=${victor.user.id}`)).json();
    expect(userLimits.policies).toEqual([{ subject_id: victor.user.id, rate_limit: { limit: 600, window_s: 60 } }]);

    // A reset keeps API keys unless "Also revoke their API keys" is ticked (issue 13, finding 6).
    const made = (await (await api("POST", "/api/auth/api-keys", { body: { name: "victor's key", user_id: victor.user.id, level: "write" } })).json()) as { key: string };
    const keyWorks = async () => (await t.request("GET", "/api/auth/validate", { headers: { "x-api-key": made.key } })).status === 200;
    expect(await keyWorks()).toBe(true);
    await page.fill("#password-form input[name=new-password]", "a-brand-new-password-8");
    await page.check("#password-form input[name=revoke-api-keys]");
    await page.click("#password-form button[type=submit]");
    await page.getByText("Password of victor@example.test reset; their sessions have ended and their API keys are revoked.").waitFor();
    expect(await keyWorks()).toBe(false);

    // Cancelling the confirmation changes nothing; confirming disables.
    await page.click("#toggle-disabled");
    await page.click(".dialog button:not([data-confirm])");
    expect(await page.locator(".dialog").count()).toBe(0);
    const still = (await (await api("GET", "/api/auth/users")).json()) as typeof listed;
    expect(still.users.find((u) => u.id === victor.user.id)!.disabled).toBe(false);
    await page.click("#toggle-disabled");
    await page.click(".dialog button[data-confirm=yes]");
    await page.getByText("victor@example.test is now disabled.").waitFor();
    const after = (await (await api("GET", "/api/auth/users")).json()) as typeof listed;
    expect(after.users.find((u) => u.id === victor.user.id)!.disabled).toBe(true);
    expect(dialogs).toEqual([]);
    await page.close();
  }, 60_000);

  test("long lists are paginated: users 20 to a page", async () => {
    const before = ((await (await api("GET", "/api/auth/users")).json()) as { count: number }).count;
    await Promise.all(Array.from({ length: Math.max(0, 23 - before) }, (_, i) => seedUser(t, { name: `Paged ${i}` })));
    const total = ((await (await api("GET", "/api/auth/users")).json()) as { count: number }).count;
    expect(total).toBeGreaterThan(20);
    const page = await openConsole();
    await signIn(page, admin.user.email, admin.password);
    await toUsers(page);
    await page.locator("#user-list .pager", { hasText: `1–20 of ${total}` }).waitFor();
    expect(await page.locator("#user-list tbody tr").count()).toBe(20);
    await page.click("#user-list .pager button:has-text('Next')");
    await page.locator("#user-list .pager", { hasText: `21–${total} of ${total}` }).waitFor();
    expect(await page.locator("#user-list tbody tr").count()).toBe(total - 20);
    await page.close();
  }, 60_000);

  test("audit: rows of earlier actions are listed, filtered by action, and exported as CSV", async () => {
    const k = await json(await api("POST", "/api/auth/users", { body: { email: `audited-${Date.now()}@example.test`, password: "Audited-pass-123", name: "Audited" } }));
    const page = await openConsole();
    await signIn(page, admin.user.email, admin.password);
    await toUsers(page);
    await page.click("nav button[data-page=audit]");
    await page.locator("#audit-list table").waitFor();
    await page.fill("input[name=audit-action]", "user.created");
    await page.fill("input[name=audit-target]", k.id);
    await page.click("#audit-filters button[type=submit]");
    // The unfiltered first page may show the row too: wait for the filtered answer (one row).
    await page.waitForFunction(() => document.querySelectorAll("#audit-list tbody tr").length === 1);
    expect(await page.locator("#audit-list td", { hasText: `user ${k.id}` }).count()).toBe(1);
    expect(await page.locator("#audit-list tbody").textContent()).toContain("user.created");
    const download = page.waitForEvent("download");
    await page.click("#audit-export-csv");
    const file = await download;
    expect(file.suggestedFilename()).toBe("audit.csv");
    await page.locator(".notice.ok", { hasText: "Exported 1 events as CSV." }).waitFor();
    await page.close();
  }, 60_000);

  test("no script errors and no Content-Security-Policy violations in any page", () => {
    expect(pageErrors).toEqual([]);
  });
});
