// The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers-10), structured-field lists:
//   RateLimit-Policy: "user";q=600;w=60
//   RateLimit: "user";r=412;t=17
// q: quota units per window, w: window seconds, r: units left, t: seconds until the window resets.
import type { Quota } from "../config";

/** Policy names are fixed tokens of ours; quoted as sf-strings. */
export type PolicyName = "key" | "user" | "address" | "stream_token";

/**
 * One policy of one subject as the hot path uses it, built when its quota is read (not per
 * request): the ledger's key for the subject and the text of the fields that do not change.
 */
export interface Policy {
  name: PolicyName;
  /** The subject, as the ledger and events name it: `key:<id>`, `user:<id>`, `address:<ip>`... */
  key: string;
  quota: Quota;
  /** The whole RateLimit-Policy field. */
  field: string;
  /** The RateLimit field up to its `r` value. */
  head: string;
}

export function policyOf(name: PolicyName, key: string, quota: Quota): Policy {
  return { name, key, quota, field: `"${name}";q=${quota.limit};w=${quota.windowS}`, head: `"${name}";r=` };
}

// `;t=<seconds>` texts, made once each: t moves once a second, r with every request.
const RESET_TEXT: string[] = [];
const resetText = (t: number) => (t <= 86_400 ? (RESET_TEXT[t] ??= `;t=${t}`) : `;t=${t}`);

/** Writes both fields into `to` (a response's headers: no object of their own per request); returns `to`. */
export function setRateLimitFields(to: Record<string, string>, p: Policy, remaining: number, resetS: number): Record<string, string> {
  to["RateLimit-Policy"] = p.field;
  to.RateLimit = p.head + Math.max(0, Math.floor(remaining)) + resetText(Math.max(0, Math.ceil(resetS)));
  return to;
}

/** True when `a` is closer to its limit than `b`: a smaller share of its quota left (then fewer units). */
export function closer(aRemaining: number, aLimit: number, bRemaining: number, bLimit: number): boolean {
  const a = aRemaining / aLimit;
  const b = bRemaining / bLimit;
  return a < b || (a === b && aRemaining < bRemaining);
}
