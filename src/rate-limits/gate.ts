import type { Config, Quota } from "../config";
import { AppError } from "../http/errors";
import type { Counter } from "../http/metrics";
import { clientAddress } from "../identity/throttle";
import type { GateRequest, Principal, RequestGate } from "../kernel/principal";
import { closest, rateLimitHeaders, type PolicyName, type PolicyState } from "./headers";
import type { Outcome, QuotaLedger } from "./ledger";
import type { PolicyStore } from "./policies";

/** Routes that weigh RATE_LIMIT_PREDICT_COST: they call the upstream model (README lists them). */
export const WEIGHTY_ROUTES = new Set(["POST /api/v1/chat/predict", "POST /chat/:chat_id/question/stream"]);

/** The route whose issuance STREAM_TOKEN_RATE limits per user (it was an in-memory limiter). */
export const STREAM_TOKEN_ROUTE = "POST /stream-chat/token";

/** The Stream contract's own words for its 429 (stream-chat-token.md). */
const STREAM_TOKEN_MESSAGE = "Too many Stream token requests; try again later";

// Routes without credentials that are never limited per address: probes, metrics scrapes, the
// API document and the console's static files (a login behind it still is).
const UNLIMITED = [/^\/(healthz|readyz|livez|metrics)\/?$/, /^\/swagger(\/|$)/, /^\/admin(\/|$)/];

interface Applied {
  name: PolicyName;
  key: string;
  quota: Quota;
  cost: number;
}

export interface GateDeps {
  config: Pick<Config, "rateLimitUser" | "rateLimitAddress" | "rateLimitPredictCost" | "streamTokenRatePerMin" | "trustProxy">;
  ledger: QuotaLedger;
  policies: PolicyStore;
  limited: Counter;
}

/**
 * Every policy that applies to a request is charged; if one refuses, what the others gave is
 * handed back and the request is answered 429 before its body is read.
 */
export class RateLimitGate implements RequestGate {
  private readonly labels = new Map<PolicyName, Record<string, string>>();

  constructor(private readonly deps: GateDeps) {}

  async admit(req: GateRequest): Promise<Record<string, string> | undefined> {
    const applied = await this.policiesFor(req);
    if (applied.length === 0) return undefined;
    const states: PolicyState[] = [];
    const taken: Applied[] = [];
    for (const p of applied) {
      const out: Outcome = await this.deps.ledger.take(p.key, p.quota, p.cost);
      const state = { name: p.name, limit: p.quota.limit, windowS: p.quota.windowS, remaining: out.remaining, resetS: out.resetS };
      if (!out.ok) {
        for (const t of taken) this.deps.ledger.refund(t.key, t.cost);
        this.count(p.name);
        const message =
          p.name === "stream_token"
            ? STREAM_TOKEN_MESSAGE
            : `Rate limit exceeded (${p.name}: ${p.quota.limit} per ${p.quota.windowS} s); retry in ${out.resetS} s`;
        throw new AppError("RATE_LIMITED", message, { ...rateLimitHeaders(state), "Retry-After": String(out.resetS) });
      }
      taken.push(p);
      states.push(state);
    }
    return rateLimitHeaders(closest(states)!);
  }

  private async policiesFor(req: GateRequest): Promise<Applied[]> {
    const { config, policies } = this.deps;
    const route = `${req.request.method} ${req.route}`;
    const cost = WEIGHTY_ROUTES.has(route) ? config.rateLimitPredictCost : 1;
    const p = req.principal;
    if (!p) {
      const quota = config.rateLimitAddress;
      if (!quota || UNLIMITED.some((re) => re.test(req.route))) return [];
      const address = clientAddress(config, req.server, req.request);
      return [{ name: "address", key: `address:${address}`, quota, cost }];
    }
    const out: Applied[] = [];
    const [keyQuota, userQuota] = await Promise.all([
      p.kind === "apiKey" ? policies.get("key", p.tokenId) : null,
      policies.get("user", p.user.id),
    ]);
    if (keyQuota) out.push({ name: "key", key: `key:${p.tokenId}`, quota: keyQuota, cost });
    const user = userQuota ?? config.rateLimitUser;
    if (user) out.push({ name: "user", key: `user:${p.user.id}`, quota: user, cost });
    if (route === STREAM_TOKEN_ROUTE) out.push(streamTokenPolicy(p, config.streamTokenRatePerMin));
    return out;
  }

  private count(name: PolicyName): void {
    let l = this.labels.get(name);
    if (!l) this.labels.set(name, (l = { policy: name }));
    this.deps.limited.inc(l);
  }
}

function streamTokenPolicy(p: Principal, perMinute: number): Applied {
  return { name: "stream_token", key: `stream_token:${p.user.id}`, quota: { limit: perMinute, windowS: 60 }, cost: 1 };
}
