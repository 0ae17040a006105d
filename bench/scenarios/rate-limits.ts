// A key with a quota of its own against a key without one: the rate limit's steady state is a
// lease from memory, so `validate` should keep within 10% of its throughput (issue 17).
import { warmAndRun } from "../load";
import { call } from "../seed";
import { notAvailable, throughput, type Bench } from "./common";

export const RATE_LIMIT_ROW = "GET /api/auth/validate (key with a rate limit)";

export async function rateLimitedValidate(b: Bench): Promise<void> {
  const u = b.seed.users[0];
  if (!u?.apiKey || !u.accessToken) {
    b.rows.push(notAvailable(RATE_LIMIT_ROW, "no API key (see seeding notes)"));
    return;
  }
  // Never reached during the load: what is measured is the bookkeeping, not refusals.
  const made = await call(b.base, "POST", "/api-key", { token: u.accessToken, json: { name: "bench limited", level: "read", rate_limit: { limit: 1_000_000_000, window_s: 60 } } });
  const limitedKey = (made.body as { key?: string } | undefined)?.key;
  if (made.status !== 200 || !limitedKey) {
    b.rows.push(notAvailable(RATE_LIMIT_ROW, `POST /api-key with rate_limit answered ${made.status} ${made.text.slice(0, 100)}`));
    return;
  }
  const unlimited = { url: `${b.base}/api/auth/validate`, headers: { "x-api-key": u.apiKey }, connections: b.connections, duration: b.duration };
  const baseline = { name: "validate, key without a limit", result: await warmAndRun(unlimited, b.pid), remeasure: () => warmAndRun(unlimited, b.pid) };
  const { row } = await throughput(b, RATE_LIMIT_ROW, { url: `${b.base}/api/auth/validate`, headers: { "x-api-key": limitedKey } }, { baseline, goal: 0.9 });
  b.rows.push(row);
}
