// Is Flowise there, and is FLOWISE_URL what chatgate expects (Flowise's base URL)? Shown on /readyz
// as a field — Flowise being down makes predictions 503, it does not make chatgate unready — and
// checked once at start-up, so a wrong URL is named before the first user's 502.
import type { Config } from "../config";
import type { Logger } from "../http/logger";

export type FlowiseState = "not configured" | "reachable" | "unreachable" | "misconfigured" | "error";

export interface FlowiseProbe {
  flowise: FlowiseState;
  flowise_error?: string;
}

export const FLOWISE_PROBE_MESSAGES = {
  apiSuffix: "FLOWISE_URL ends in /api/v1: set it to Flowise's base URL (chatgate adds /api/v1/...)",
  html: "FLOWISE_URL answers HTML, not Flowise's API: it should be Flowise's base URL, not a web page, its UI path or a login proxy",
  unreachable: "Flowise is unreachable at FLOWISE_URL",
  timeout: "Flowise did not answer /api/v1/ping in time",
} as const;

const PROBE_TIMEOUT_MS = 2000;

/** A mistake visible in the URL itself: the API prefix chatgate adds already being there. */
export function flowiseUrlMistake(url: string): string | undefined {
  const path = new URL(url).pathname.replace(/\/+$/, "");
  return /\/api\/v1(\/.*)?$/.test(path) ? FLOWISE_PROBE_MESSAGES.apiSuffix : undefined;
}

/** GET {FLOWISE_URL}/api/v1/ping — Flowise answers it without a key ("pong"). */
export async function probeFlowise(config: Config): Promise<FlowiseProbe> {
  const url = config.flowiseUrl;
  if (!url) return { flowise: "not configured" };
  const mistake = flowiseUrlMistake(url);
  let res: Response;
  try {
    res = await fetch(`${url}/api/v1/ping`, { redirect: "manual", signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  } catch (err) {
    const timedOut = (err as { name?: string })?.name === "TimeoutError";
    return { flowise: "unreachable", flowise_error: mistake ?? (timedOut ? FLOWISE_PROBE_MESSAGES.timeout : FLOWISE_PROBE_MESSAGES.unreachable) };
  }
  const type = (res.headers.get("content-type") ?? "").toLowerCase();
  await res.body?.cancel().catch(() => {});
  if (mistake) return { flowise: "misconfigured", flowise_error: mistake };
  if (type.startsWith("text/html")) return { flowise: "misconfigured", flowise_error: FLOWISE_PROBE_MESSAGES.html };
  if (res.ok) return { flowise: "reachable" };
  if (res.status === 404) return { flowise: "misconfigured", flowise_error: "FLOWISE_URL answered 404 for /api/v1/ping: is it Flowise's base URL?" };
  return { flowise: "error", flowise_error: `Flowise answered HTTP ${res.status} to /api/v1/ping` };
}

/** /readyz may be polled every second: one probe at a time, its answer reused for a few seconds. */
export function cachedFlowiseProbe(config: Config, ttlMs = 5000): () => Promise<FlowiseProbe> {
  let last: { at: number; value: FlowiseProbe } | undefined;
  let inflight: Promise<FlowiseProbe> | undefined;
  return () => {
    if (last && performance.now() - last.at < ttlMs) return Promise.resolve(last.value);
    inflight ??= probeFlowise(config)
      .then((value) => ((last = { at: performance.now(), value }), value))
      .finally(() => (inflight = undefined));
    return inflight;
  };
}

export async function checkFlowiseAtStart(config: Config, log: Logger): Promise<void> {
  if (!config.flowiseUrl) return;
  const probe = await probeFlowise(config);
  if (probe.flowise_error) log.warn("flowise check", { ...probe });
  else log.info("flowise check", { ...probe });
}
