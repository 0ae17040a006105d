// Credential-checking and token-issuing endpoints: the hot paths every other request pays for.
import { availableParallelism } from "node:os";
import { runLoad } from "../load";
import { cpuUsPerRequest } from "../report";
import { bearer, json, notAvailable, probe, throughput, type Bench } from "./common";

export async function authScenarios(b: Bench): Promise<void> {
  const [u] = b.seed.users;
  const cf = b.seed.chatflows[0];

  if (!u?.accessToken) b.rows.push(notAvailable("GET /api/auth/me (access token)", "no user access token (see seeding notes)"));
  else {
    const { row } = await throughput(
      b,
      "GET /api/auth/me (access token)",
      { url: `${b.base}/api/auth/me`, headers: bearer(u.accessToken) },
      { baseline: b.raw.static, goal: 0.85 },
    );
    b.rows.push(row);
  }

  if (!u?.apiKey) b.rows.push(notAvailable("GET /api/auth/validate (API key)", "no API key (see seeding notes)"));
  else {
    const { row } = await throughput(
      b,
      "GET /api/auth/validate (API key)",
      { url: `${b.base}/api/auth/validate`, headers: { "x-api-key": u.apiKey } },
      { baseline: b.raw.static, goal: 0.85 },
    );
    b.rows.push(row);
  }

  if (!u?.apiKey || !cf) b.rows.push(notAvailable("POST /api-key/chat-token", "no API key or chatflow (see seeding notes)"));
  else {
    const { row } = await throughput(
      b,
      "POST /api-key/chat-token",
      { url: `${b.base}/api-key/chat-token?brain_id=${cf}`, method: "POST", headers: bearer(u.apiKey) },
      { baseline: b.raw.static, goal: 0.5 },
    );
    b.rows.push(row);
  }

  // Rotating users: the per-user issuance limit (STREAM_TOKEN_RATE) is a per-user figure, and a
  // real load comes from many users. Compared with raw Bun.serve read the same rotating way.
  const streamUsers = b.seed.users.filter((x) => x.accessToken && x.customerId !== undefined);
  if (streamUsers.length === 0) b.rows.push(notAvailable("POST /stream-chat/token", "no user with an access token and customer_id"));
  else {
    const variants = streamUsers.map((x) => ({ headers: { ...json, ...bearer(x.accessToken!) }, body: JSON.stringify({ customer_id: x.customerId }) }));
    const { row } = await throughput(
      b,
      `POST /stream-chat/token (${variants.length} users)`,
      { url: `${b.base}/stream-chat/token`, method: "POST", variants },
      { baseline: b.raw.scripted, goal: 0.5 },
    );
    b.rows.push(row);
  }

  await loginFlood(b);
}

/** Logins as fast as they go, and meanwhile a light /api/auth/me load whose latency must stay low. */
async function loginFlood(b: Bench): Promise<void> {
  const users = b.seed.users.filter((x) => x.accessToken);
  const me = users[0];
  if (!me?.accessToken) {
    b.rows.push(notAvailable("POST /api/auth/token (login flood)", "no seeded user could log in (see seeding notes)"));
    return;
  }
  const form = { "content-type": "application/x-www-form-urlencoded" };
  const variants = users.map((x) => ({ headers: form, body: new URLSearchParams({ username: x.email, password: x.password }).toString() }));
  const loginSpec = { url: `${b.base}/api/auth/token`, method: "POST", variants, connections: 16, duration: b.duration + 1 };
  const meSpec = { url: `${b.base}/api/auth/me`, headers: bearer(me.accessToken), connections: 2, duration: Math.max(1, b.duration - 1) };
  const refused = await probe(loginSpec);
  if (refused) {
    b.rows.push(notAvailable("POST /api/auth/token (login flood)", refused));
    return;
  }
  b.log("login flood…");
  const quiet = await runLoad(meSpec, b.pid);
  const flood = runLoad(loginSpec, b.pid);
  await Bun.sleep(1000);
  const during = await runLoad(meSpec);
  const logins = await flood;
  const cores = availableParallelism();
  const rps = (logins.total - logins.non2xx) / logins.seconds;
  b.rows.push({
    scenario: "POST /api/auth/token (login flood, 16 conns)",
    rps,
    p50: logins.p50,
    p99: logins.p99,
    goal: "≥ 25/s per core",
    met: rps / cores >= 25,
    rssMiB: logins.rssPeak,
    cpu: logins.cpuCores,
    cpuUs: cpuUsPerRequest(logins),
    note:
      `${(rps / cores).toFixed(1)} logins/s per core (${cores} cores)` +
      (logins.cpuCores ? `; ${(rps / logins.cpuCores).toFixed(1)} logins per chatgate CPU-second` : "") +
      (logins.non2xx ? `; ${logins.non2xx} non-2xx` : ""),
  });
  b.rows.push({
    scenario: "GET /api/auth/me during the login flood (2 conns)",
    rps: (during.total - during.non2xx) / during.seconds,
    p50: during.p50,
    p99: during.p99,
    goal: "p99 ≤ 10 ms",
    met: during.p99 <= 10,
    note: `same load without the flood: p50 ${quiet.p50.toFixed(2)} ms, p99 ${quiet.p99.toFixed(2)} ms, ${Math.round((quiet.total - quiet.non2xx) / quiet.seconds)} req/s`,
  });
}
