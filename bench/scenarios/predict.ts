// The chat proxy: JSON prediction throughput against the Flowise double read directly, and SSE
// time to first event / to the end through chatgate and through the Portkey gateway, each
// against its own upstream read directly by the same client in the same run.
import { sampleRss } from "../procs";
import type { Row } from "../report";
import { concurrent, interleaved, percentile, timeOne, type Series, type Target } from "../stream-client";
import { bearer, json, notAvailable, throughput, type Bench } from "./common";

const QUESTION = "How fast is this gateway?";

export async function predictJson(b: Bench): Promise<void> {
  const users = b.seed.users.filter((x) => x.accessToken);
  const cf = b.seed.chatflows[0];
  const direct = await throughput(
    b,
    "Flowise double direct: POST /api/v1/prediction (JSON)",
    {
      url: `${b.upstream.flowise}/api/v1/prediction/${cf ?? "none"}`,
      method: "POST",
      headers: { ...json, ...bearer(b.upstream.flowiseKey) },
      body: JSON.stringify({ question: QUESTION }),
    },
    { watch: null, note: "proxy ceiling" },
  );
  b.rows.push(direct.row);
  if (users.length === 0 || !cf) {
    b.rows.push(notAvailable("POST /api/v1/chat/predict (JSON)", "no user access token or chatflow (see seeding notes)"));
    return;
  }
  const body = JSON.stringify({ chatflow_id: cf, question: QUESTION });
  const baseline = direct.result ? { name: "Flowise double direct", result: direct.result } : undefined;
  // Rotating users is the realistic load; one user puts every prediction on one balance row.
  for (const [label, who] of [
    [`${users.length} users rotating`, users],
    ["1 user", users.slice(0, 1)],
  ] as const) {
    const variants = who.map((u) => ({ headers: { ...json, ...bearer(u.accessToken!) }, body }));
    const { row } = await throughput(
      b,
      `POST /api/v1/chat/predict (JSON, ${label})`,
      { url: `${b.base}/api/v1/chat/predict`, method: "POST", variants },
      { baseline, goal: who.length > 1 ? 0.25 : undefined },
    );
    b.rows.push(row);
  }
}

function targets(b: Bench, delayMs: number): { chatgate?: Target; flowise: Target; openai: Target; portkey?: Target } {
  const [u] = b.seed.users;
  const cf = b.seed.chatflows[delayMs];
  const post = (headers: Record<string, string>, body: unknown) => () => ({ method: "POST", headers: { ...json, ...headers }, body: JSON.stringify(body) });
  const openaiBody = { model: `bench-delay-${delayMs}`, stream: true, messages: [{ role: "user", content: QUESTION }] };
  return {
    chatgate:
      u?.accessToken && cf
        ? { name: "chatgate", url: `${b.base}/api/v1/chat/predict`, init: post(bearer(u.accessToken), { chatflow_id: cf, question: QUESTION, streaming: true }) }
        : undefined,
    flowise: { name: "Flowise double", url: `${b.upstream.flowise}/api/v1/prediction/${cf}`, init: post(bearer(b.upstream.flowiseKey), { question: QUESTION, streaming: true }) },
    openai: { name: "OpenAI double", url: `${b.upstream.openai}/v1/chat/completions`, init: post(bearer("sk-bench"), openaiBody) },
    portkey: b.upstream.portkey
      ? {
          name: "Portkey",
          url: `${b.upstream.portkey}/v1/chat/completions`,
          init: post({ ...bearer("sk-bench"), "x-portkey-provider": "openai", "x-portkey-custom-host": `${b.upstream.openai}/v1` }, openaiBody),
        }
      : undefined,
  };
}

/** Empty when the target streams a full answer now, else why not. */
async function streamProbe(t: Target): Promise<string> {
  try {
    const r = await timeOne(t);
    if (r.status < 200 || r.status >= 300) return `${t.name} answered ${r.status}`;
    if (r.frames < 200) return `${t.name} streamed ${r.frames} SSE frames (expected ≥ 200)`;
    return "";
  } catch (e) {
    return `${t.name} failed: ${(e as Error).message.slice(0, 100)}`;
  }
}

const ttfb = (s: Series) => s.samples.map((x) => x.ttfb);
const totals = (s: Series) => s.samples.map((x) => x.total);
const f2 = (v: number) => v.toFixed(2);

function addedRow(scenario: string, via: Series, direct: Series, rss: number | undefined): Row & { addedP50: number } {
  const p50 = percentile(ttfb(via), 50) - percentile(ttfb(direct), 50);
  const p99 = percentile(ttfb(via), 99) - percentile(ttfb(direct), 99);
  const total50 = percentile(totals(via), 50) - percentile(totals(direct), 50);
  const frames = via.samples[0]?.frames ?? 0;
  const failures = via.failures.length + direct.failures.length;
  return {
    scenario,
    p50,
    p99,
    addedP50: p50,
    rssMiB: rss,
    note:
      `added TTFB; direct TTFB p50 ${f2(percentile(ttfb(direct), 50))} / p99 ${f2(percentile(ttfb(direct), 99))} ms; ` +
      `total p50 ${f2(percentile(totals(via), 50))} ms (+${f2(total50)} vs direct); ${frames} frames; n=${via.samples.length}` +
      (failures ? `; ${failures} failed requests` : ""),
  };
}

export async function predictSse(b: Bench, delayMs: number, plan: { rounds: number; concurrency: number; each: number }): Promise<void> {
  const t = targets(b, delayMs);
  const label = `SSE ${delayMs} ms between events`;
  if (!t.chatgate) {
    b.rows.push(notAvailable(`${label}: chatgate added TTFB`, "no user access token or chatflow (see seeding notes)"));
    return;
  }
  const cgRefused = await streamProbe(t.chatgate);
  if (cgRefused) {
    b.rows.push(notAvailable(`${label}: chatgate added TTFB`, cgRefused));
    return;
  }
  const pkRefused = t.portkey ? await streamProbe(t.portkey) : (b.upstream.portkeyNote ?? "Portkey not started");
  const all = [t.flowise, t.chatgate, t.openai, ...(pkRefused ? [] : [t.portkey!])];
  b.log(`${label}: ${plan.rounds} interleaved rounds, then ${plan.concurrency} concurrent × ${plan.each}…`);
  for (const mode of ["sequential", "concurrent"] as const) {
    const stop = sampleRss(b.pid);
    const series = mode === "sequential" ? await interleaved(all, plan.rounds) : await concurrent(all, plan.concurrency, plan.each);
    const rss = stop();
    const [flowise, chatgate, openai, portkey] = series as [Series, Series, Series, Series | undefined];
    const how = mode === "sequential" ? `sequential ×${plan.rounds}` : `${plan.concurrency} concurrent ×${plan.each}`;
    const cg = addedRow(`${label}, ${how}: chatgate`, chatgate, flowise, rss);
    const pk = portkey ? addedRow(`${label}, ${how}: Portkey`, portkey, openai, undefined) : undefined;
    const { addedP50: _a, ...cgRow } = cg;
    // Issue 16's goals: sequential ≤ +1 ms p50 and ≤ +3 ms p99; concurrent ≤ +5 ms p50.
    const sequential = mode === "sequential";
    b.rows.push({
      ...cgRow,
      goal: sequential ? "≤ +1 / ≤ +3 ms" : "≤ +5 ms p50",
      met: sequential ? cg.p50! <= 1 && cg.p99! <= 3 : cg.p50! <= 5,
    });
    if (pk) {
      const { addedP50: _b, ...pkRow } = pk;
      b.rows.push(pkRow);
    } else b.rows.push(notAvailable(`${label}, ${how}: Portkey`, pkRefused));
  }
}
