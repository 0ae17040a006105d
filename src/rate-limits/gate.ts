import type { Config, Quota } from "../config";
import { RATE_LIMIT_ERRORS } from "./errors";
import type { Counter } from "../http/metrics";
import { clientAddress } from "../http/client-address";
import type { GateRequest, Principal, RequestGate } from "../kernel/principal";
import { closest, rateLimitHeaders, type PolicyName, type PolicyState } from "./headers";
import type { Outcome, QuotaLedger } from "./ledger";
import type { PolicyStore } from "./policies";

/** POST routes that weigh RATE_LIMIT_PREDICT_COST: they call the upstream model (README lists them). */
export const WEIGHTY_PATHS = new Set(["/api/v1/chat/predict", "/chat/:chat_id/question/stream"]);

/** The POST route whose issuance STREAM_TOKEN_RATE limits per user (it was an in-memory limiter). */
export const STREAM_TOKEN_PATH = "/stream-chat/token";

/** The Stream contract's own words for its 429 (stream-chat-token.md). */

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

  admit(req: GateRequest): Record<string, string> | undefined | Promise<Record<string, string> | undefined> {
    // Steady state: quotas cached and leases in hand, answered without a promise.
    const known = this.knownPolicies(req);
    if (known) {
      if (known.length === 0) return undefined;
      const states: PolicyState[] = [];
      let i = 0;
      for (; i < known.length; i++) {
        const p = known[i]!;
        const out = this.deps.ledger.takeLocal(p.key, p.quota, p.cost);
        if (!out) break;
        states.push({ name: p.name, limit: p.quota.limit, windowS: p.quota.windowS, remaining: out.remaining, resetS: out.resetS });
      }
      if (i === known.length) return rateLimitHeaders(closest(states)!);
      for (let j = 0; j < i; j++) this.deps.ledger.refund(known[j]!.key, known[j]!.cost);
      return this.charge(known);
    }
    return this.policiesFor(req).then((applied) => (applied.length === 0 ? undefined : this.charge(applied)));
  }

  private async charge(applied: Applied[]): Promise<Record<string, string> | undefined> {
    const states: PolicyState[] = [];
    const taken: Applied[] = [];
    for (const p of applied) {
      const out: Outcome = await this.deps.ledger.take(p.key, p.quota, p.cost);
      const state = { name: p.name, limit: p.quota.limit, windowS: p.quota.windowS, remaining: out.remaining, resetS: out.resetS };
      if (!out.ok) {
        for (const t of taken) this.deps.ledger.refund(t.key, t.cost);
        this.count(p.name);
        const error = p.name === "stream_token" ? RATE_LIMIT_ERRORS.STREAM_TOKEN : RATE_LIMIT_ERRORS.EXCEEDED;
        throw error.withHeaders({ ...rateLimitHeaders(state), "Retry-After": String(out.resetS) }, p.name, p.quota.limit, p.quota.windowS, out.resetS);
      }
      taken.push(p);
      states.push(state);
    }
    return rateLimitHeaders(closest(states)!);
  }

  /** The policies of a request when every quota they need is cached, else undefined. */
  private knownPolicies(req: GateRequest): Applied[] | undefined {
    const p = req.principal;
    if (!p) return this.addressPolicies(req);
    const keyQuota = p.kind === "apiKey" ? this.deps.policies.peek("key", p.tokenId) : null;
    const userQuota = this.deps.policies.peek("user", p.user.id);
    if (keyQuota === undefined || userQuota === undefined) return undefined;
    return this.assemble(req, p, keyQuota, userQuota);
  }

  private async policiesFor(req: GateRequest): Promise<Applied[]> {
    const p = req.principal;
    if (!p) return this.addressPolicies(req);
    const { policies } = this.deps;
    const [keyQuota, userQuota] = await Promise.all([p.kind === "apiKey" ? policies.get("key", p.tokenId) : null, policies.get("user", p.user.id)]);
    return this.assemble(req, p, keyQuota, userQuota);
  }

  private addressPolicies(req: GateRequest): Applied[] {
    const { config } = this.deps;
    const quota = config.rateLimitAddress;
    if (!quota || UNLIMITED.some((re) => re.test(req.route))) return [];
    const address = clientAddress(config, req.server, req.request);
    return [{ name: "address", key: `address:${address}`, quota, cost: this.costOf(req) }];
  }

  private assemble(req: GateRequest, p: Principal, keyQuota: Quota | null, userQuota: Quota | null): Applied[] {
    const { config } = this.deps;
    const cost = this.costOf(req);
    const out: Applied[] = [];
    if (keyQuota) out.push({ name: "key", key: `key:${p.tokenId}`, quota: keyQuota, cost });
    const user = userQuota ?? config.rateLimitUser;
    if (user) out.push({ name: "user", key: `user:${p.user.id}`, quota: user, cost });
    if (req.request.method === "POST" && req.route === STREAM_TOKEN_PATH) out.push(streamTokenPolicy(p, config.streamTokenRatePerMin));
    return out;
  }

  private costOf(req: GateRequest): number {
    return req.request.method === "POST" && WEIGHTY_PATHS.has(req.route) ? this.deps.config.rateLimitPredictCost : 1;
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
