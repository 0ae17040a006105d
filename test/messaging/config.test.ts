import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/config";
import { backoffMs } from "../../src/messaging/outbox";

describe("messaging settings", () => {
  test("defaults", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ messageTransport: "none", messageMaxAttempts: 5, messagePollMs: 1000, messageRetryBaseMs: 5000, messageSendTimeoutMs: 10000, maxRecipients: 1000 });
  });

  test("a transport without what it needs stops start-up naming the variable", () => {
    const cases: [Record<string, string>, string][] = [
      [{ MESSAGE_TRANSPORT: "stream" }, "STREAM_API_KEY"],
      [{ MESSAGE_TRANSPORT: "webhook", MESSAGE_WEBHOOK_SECRET: "s" }, "MESSAGE_WEBHOOK_URL"],
      [{ MESSAGE_TRANSPORT: "webhook", MESSAGE_WEBHOOK_URL: "http://127.0.0.1:1/x" }, "MESSAGE_WEBHOOK_SECRET"],
      [{ MESSAGE_POLL_MS: "0" }, "MESSAGE_POLL_MS"],
      [{ MESSAGE_SEND_TIMEOUT_MS: "fast" }, "MESSAGE_SEND_TIMEOUT_MS"],
      [{ MESSAGE_RETRY_BASE_MS: "-1" }, "MESSAGE_RETRY_BASE_MS"],
    ];
    for (const [env, variable] of cases) {
      let thrown: unknown;
      try {
        loadConfig(env);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).variable).toBe(variable);
    }
  });

  test("backoff doubles per attempt and stops at one hour", () => {
    expect([1, 2, 3, 4].map((a) => backoffMs(1000, a))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs(5000, 40)).toBe(3_600_000);
  });
});
