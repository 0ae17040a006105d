// Mixed load: `GET /api/auth/validate` (no database work in steady state) read lightly while
// predictions and Stream token issuances (both database work) run at full load. On embedded
// PGlite every statement runs where the HTTP server runs, so this is the row that shows whether a
// request that needs no database waits behind those that do. Goal (issue 16): p50 within 2× of
// the same light load without the others.
import { runLoad } from "../load";
import { bearer, json, notAvailable, probe, type Bench } from "./common";

export async function mixedLoad(b: Bench): Promise<void> {
  const users = b.seed.users.filter((x) => x.accessToken);
  const [u] = users;
  const cf = b.seed.chatflows[0];
  const scenario = "GET /api/auth/validate during predictions + Stream tokens (2 conns)";
  if (!u?.apiKey || !cf) {
    b.rows.push(notAvailable(scenario, "no API key or chatflow (see seeding notes)"));
    return;
  }
  const validate = { url: `${b.base}/api/auth/validate`, headers: { "x-api-key": u.apiKey }, connections: 2, duration: Math.max(1, b.duration - 1) };
  const predict = {
    url: `${b.base}/api/v1/chat/predict`,
    method: "POST",
    connections: Math.max(2, Math.floor(b.connections / 2)),
    duration: b.duration + 1,
    variants: users.map((x) => ({ headers: { ...json, ...bearer(x.accessToken!) }, body: JSON.stringify({ chatflow_id: cf, question: "mixed" }) })),
  };
  const tokens = {
    url: `${b.base}/stream-chat/token`,
    method: "POST",
    connections: Math.max(2, Math.floor(b.connections / 2)),
    duration: b.duration + 1,
    variants: users
      .filter((x) => x.customerId !== undefined)
      .map((x) => ({ headers: { ...json, ...bearer(x.accessToken!) }, body: JSON.stringify({ customer_id: x.customerId }) })),
  };
  for (const spec of [validate, predict, tokens]) {
    const refused = await probe(spec);
    if (refused) {
      b.rows.push(notAvailable(scenario, refused));
      return;
    }
  }
  b.log(`${scenario}…`);
  const quiet = await runLoad(validate, b.pid);
  const heavy = Promise.all([runLoad(predict), runLoad(tokens)]);
  await Bun.sleep(1000);
  const during = await runLoad(validate, b.pid);
  const [p, t] = await heavy;
  b.rows.push({
    scenario,
    rps: (during.total - during.non2xx) / during.seconds,
    p50: during.p50,
    p99: during.p99,
    goal: "p50 ≤ 2× unloaded",
    met: during.p50 <= 2 * quiet.p50,
    rssMiB: during.rssPeak,
    cpu: during.cpuCores,
    note:
      `unloaded: p50 ${quiet.p50.toFixed(2)} ms, p99 ${quiet.p99.toFixed(2)} ms; meanwhile ` +
      `${Math.round((p.total - p.non2xx) / p.seconds)} predictions/s and ${Math.round((t.total - t.non2xx) / t.seconds)} Stream tokens/s` +
      (p.non2xx + t.non2xx ? ` (${p.non2xx + t.non2xx} non-2xx)` : ""),
  });
}
