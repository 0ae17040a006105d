// The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers-10), structured-field lists:
//   RateLimit-Policy: "user";q=600;w=60
//   RateLimit: "user";r=412;t=17
// q: quota units per window, w: window seconds, r: units left, t: seconds until the window resets.

/** Policy names are fixed tokens of ours; quoted as sf-strings. */
export type PolicyName = "key" | "user" | "address" | "stream_token";

export interface PolicyState {
  name: PolicyName;
  limit: number;
  windowS: number;
  remaining: number;
  resetS: number;
}

export function rateLimitHeaders(p: PolicyState): Record<string, string> {
  return {
    "RateLimit-Policy": `"${p.name}";q=${p.limit};w=${p.windowS}`,
    RateLimit: `"${p.name}";r=${Math.max(0, Math.floor(p.remaining))};t=${Math.max(0, Math.ceil(p.resetS))}`,
  };
}

/** The policy closest to its limit: the smallest share of its quota left (then the fewest units). */
export function closest(states: PolicyState[]): PolicyState | undefined {
  let best: PolicyState | undefined;
  for (const s of states) {
    if (!best) best = s;
    else {
      const a = s.remaining / s.limit;
      const b = best.remaining / best.limit;
      if (a < b || (a === b && s.remaining < best.remaining)) best = s;
    }
  }
  return best;
}
