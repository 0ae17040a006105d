import type { Config, Quota } from "../config";
import { RATE_LIMIT_ERRORS } from "./errors";
import type { Counter } from "../http/metrics";
import { clientAddress } from "../http/client-address";
import type { GateRequest, Principal, RequestGate } from "../kernel/principal";
import type { ExceededNotices } from "./exceeded";
import { closer, policyOf, setRateLimitFields, type Policy, type PolicyName } from "./headers";
import type { Lease, Outcome, QuotaLedger } from "./ledger";
import type { PolicyStore } from "./policies";

/** POST routes that weigh RATE_LIMIT_PREDICT_COST: they call the upstream model (README lists them). */
export const WEIGHTY_PATHS = new Set(["/api/v1/chat/predict", "/chat/:chat_id/question/stream"]);

/** The POST route whose issuance STREAM_TOKEN_RATE limits per user (it was an in-memory limiter). */
export const STREAM_TOKEN_PATH = "/stream-chat/token";

// Routes without credentials that are never limited per address: probes, metrics scrapes, the
// API document and the console's static files (a login behind it still is).
const UNLIMITED = [/^\/(healthz|readyz|livez|metrics)\/?$/, /^\/swagger(\/|$)/, /^\/admin(\/|$)/];

const NONE: readonly Policy[] = Object.freeze([]);

export interface GateDeps {
  config: Pick<Config, "rateLimitAddress" | "rateLimitPredictCost" | "streamTokenRatePerMin" | "trustProxy">;
  ledger: QuotaLedger;
  policies: PolicyStore;
  limited: Counter;
  /** ratelimit.exceeded, once per policy and window. */
  notices: ExceededNotices;
}

/**
 * Every policy that applies to a request is charged (each the same cost); if one refuses, what
 * the others gave is handed back and the request is answered 429 before its body is read.
 */
export class RateLimitGate implements RequestGate {
  private readonly labels = new Map<PolicyName, Record<string, string>>();
  private readonly streamTokenQuota: Quota;

  constructor(private readonly deps: GateDeps) {
    this.streamTokenQuota = { limit: deps.config.streamTokenRatePerMin, windowS: 60 };
  }

  admit(req: GateRequest): void | Promise<void> {
    // Steady state: policies cached and leases in hand, answered without a promise and with
    // nothing allocated but the RateLimit field's text.
    const now = Date.now();
    const known = this.knownPolicies(req, now);
    if (!known) return this.policiesFor(req).then((applied) => (applied.length === 0 ? undefined : this.charge(req, applied)));
    if (known.length === 0) return;
    const cost = this.costOf(req);
    const { ledger } = this.deps;
    let best: Lease | undefined;
    let bestPolicy: Policy | undefined;
    let i = 0;
    for (; i < known.length; i++) {
      const p = known[i]!;
      const lease = ledger.takeLocal(p.key, p.quota, cost, now);
      if (!lease) break;
      if (!best || closer(lease.remaining, lease.limit, best.remaining, best.limit)) (best = lease), (bestPolicy = p);
    }
    if (i === known.length) {
      setRateLimitFields(req.headers, bestPolicy!, best!.remaining, best!.resetS(now));
      return;
    }
    for (let j = 0; j < i; j++) ledger.refund(known[j]!.key, cost);
    return this.charge(req, known);
  }

  private async charge(req: GateRequest, applied: readonly Policy[]): Promise<void> {
    const cost = this.costOf(req);
    let best: { p: Policy; out: Outcome } | undefined;
    for (let i = 0; i < applied.length; i++) {
      const p = applied[i]!;
      const out = await this.deps.ledger.take(p.key, p.quota, cost);
      if (!out.ok) {
        for (let j = 0; j < i; j++) this.deps.ledger.refund(applied[j]!.key, cost);
        this.count(p.name);
        // In the background: the 429 waits for nothing (one statement per policy and window).
        this.deps.notices.refused(p, out, req.principal?.user.id);
        const error = p.name === "stream_token" ? RATE_LIMIT_ERRORS.STREAM_TOKEN : RATE_LIMIT_ERRORS.EXCEEDED;
        const headers = setRateLimitFields({ "Retry-After": String(out.resetS) }, p, out.remaining, out.resetS);
        throw error.withHeaders(headers, p.name, p.quota.limit, p.quota.windowS, out.resetS);
      }
      if (!best || closer(out.remaining, p.quota.limit, best.out.remaining, best.p.quota.limit)) best = { p, out };
    }
    if (best) setRateLimitFields(req.headers, best.p, best.out.remaining, best.out.resetS);
  }

  /** The policies of a request when every one it needs is cached, else undefined. */
  private knownPolicies(req: GateRequest, now: number): readonly Policy[] | undefined {
    const p = req.principal;
    if (!p) return this.addressPolicies(req);
    const { policies } = this.deps;
    const keyPolicy = p.kind === "apiKey" ? policies.peek("key", p.tokenId, now) : null;
    if (keyPolicy === undefined) return undefined;
    const userPolicy = policies.peek("user", p.user.id, now);
    if (userPolicy === undefined) return undefined;
    return this.assemble(req, p, keyPolicy, userPolicy);
  }

  private async policiesFor(req: GateRequest): Promise<readonly Policy[]> {
    const p = req.principal;
    if (!p) return this.addressPolicies(req);
    const { policies } = this.deps;
    const [keyPolicy, userPolicy] = await Promise.all([p.kind === "apiKey" ? policies.policy("key", p.tokenId) : null, policies.policy("user", p.user.id)]);
    return this.assemble(req, p, keyPolicy, userPolicy);
  }

  private addressPolicies(req: GateRequest): readonly Policy[] {
    const { config } = this.deps;
    const quota = config.rateLimitAddress;
    if (!quota || UNLIMITED.some((re) => re.test(req.route))) return NONE;
    const address = clientAddress(config, req.server, req.request);
    return [policyOf("address", `address:${address}`, quota)];
  }

  private assemble(req: GateRequest, p: Principal, keyPolicy: Policy | null, userPolicy: Policy | null): readonly Policy[] {
    const streamToken = req.request.method === "POST" && req.route === STREAM_TOKEN_PATH;
    if (!streamToken) {
      // The usual shapes without building a list each time.
      if (!keyPolicy) return userPolicy ? [userPolicy] : NONE;
      return userPolicy ? [keyPolicy, userPolicy] : [keyPolicy];
    }
    const out: Policy[] = [];
    if (keyPolicy) out.push(keyPolicy);
    if (userPolicy) out.push(userPolicy);
    out.push(policyOf("stream_token", `stream_token:${p.user.id}`, this.streamTokenQuota));
    return out;
  }

  /** Every policy of a request is charged this (the Stream-token route is not a weighty one). */
  private costOf(req: GateRequest): number {
    return req.request.method === "POST" && WEIGHTY_PATHS.has(req.route) ? this.deps.config.rateLimitPredictCost : 1;
  }

  private count(name: PolicyName): void {
    let l = this.labels.get(name);
    if (!l) this.labels.set(name, (l = { policy: name }));
    this.deps.limited.inc(l);
  }
}
