// Allowed-domain rule for API keys (README "API key domains"):
// - an entry `example.com` matches exactly that host, case-insensitively, any port;
// - an entry `*.example.com` matches every subdomain at any depth (`a.example.com`,
//   `a.b.example.com`) but not the apex `example.com` — list both to allow both;
// - matching is by whole DNS labels, so `example.com.evil.com` and `evilexample.com` never match;
// - the host comes from `Origin`, or from `Referer` when there is no Origin; when a key has
//   domains and the request carries neither (or `Origin: null`), it is refused.
// The headers are set by browsers, not by attackers' scripts; a server-side client can forge
// them, so domains limit where a published key works in browsers, they do not authenticate.

const LABEL = "(?!-)[a-z0-9-]{1,63}(?<!-)";
const HOST = new RegExp(`^(\\*\\.)?${LABEL}(\\.${LABEL})*$`);

/** Normalised entry, or undefined when it is not a host or `*.host` pattern. */
export function normaliseDomain(entry: string): string | undefined {
  const d = entry.trim().toLowerCase().replace(/\.$/, "");
  if (d.length > 253 || !HOST.test(d)) return undefined;
  return d;
}

/** The request's browser origin host, lower-case, without port or trailing dot. */
export function requestHost(request: Request): string | undefined {
  const origin = request.headers.get("origin");
  const source = origin ?? request.headers.get("referer");
  if (!source || source === "null") return undefined;
  try {
    const host = new URL(source).hostname.toLowerCase().replace(/\.$/, "");
    return host || undefined;
  } catch {
    return undefined;
  }
}

export function hostAllowed(host: string, domains: readonly string[]): boolean {
  for (const d of domains) {
    if (d.startsWith("*.")) {
      const suffix = d.slice(1); // ".example.com": the dot keeps lookalikes out
      if (host.length > suffix.length && host.endsWith(suffix)) return true;
    } else if (host === d) {
      return true;
    }
  }
  return false;
}

/** True when the key has no domain list, or the request's Origin/Referer host is on it. */
export function domainAllowed(request: Request, domains: readonly string[]): boolean {
  if (domains.length === 0) return true;
  const host = requestHost(request);
  return host !== undefined && hostAllowed(host, domains);
}
