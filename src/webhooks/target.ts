import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

// A webhook URL is not a way into the operator's network: a target must be https:// to a public
// address. WEBHOOK_ALLOW_HTTP=true also admits loopback (http or https: local receivers, tests);
// WEBHOOK_ALLOW_PRIVATE=true admits private and link-local ranges. The host is checked when the
// webhook is saved and resolved again before every delivery (DNS rebinding): one private answer
// refuses the attempt.

export interface TargetPolicy {
  allowHttp: boolean;
  allowPrivate: boolean;
}

export type AddressClass = "public" | "loopback" | "private" | "reserved";
export type TargetCheck = { ok: true; url: URL } | { ok: false; reason: string };

function v4Class(ip: string): AddressClass {
  const [a, b] = ip.split(".").map(Number) as [number, number, number, number];
  if (a === 127) return "loopback";
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return "private";
  if (a === 169 && b === 254) return "private"; // link-local, cloud metadata
  if (a === 100 && b >= 64 && b <= 127) return "private"; // carrier-grade NAT
  if (a === 0 || a >= 224 || (a === 192 && b === 0) || (a === 198 && (b === 18 || b === 19))) return "reserved";
  return "public";
}

/** The 8 groups of an IPv6 address as numbers (handles `::` and a dotted IPv4 tail). */
function v6Groups(ip: string): number[] {
  let s = ip.toLowerCase().split("%")[0]!;
  const tail = s.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (tail) {
    const [a, b, c, d] = tail[1]!.split(".").map(Number) as [number, number, number, number];
    s = `${s.slice(0, -tail[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = s.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const r = rest === undefined ? [] : rest ? rest.split(":") : [];
  const fill = rest === undefined ? [] : new Array(8 - h.length - r.length).fill("0");
  return [...h, ...fill, ...r].map((g) => parseInt(g, 16));
}

export function addressClass(ip: string): AddressClass {
  const family = isIP(ip);
  if (family === 4) return v4Class(ip);
  if (family !== 6) return "reserved";
  const g = v6Groups(ip);
  const first = g[0]!;
  if (g.every((x) => x === 0)) return "reserved"; // ::
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return "loopback"; // ::1
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address: judge that.
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  const nat64 = first === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
  if (mapped || nat64) return v4Class(`${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`);
  if ((first & 0xfe00) === 0xfc00) return "private"; // fc00::/7 unique local
  if ((first & 0xffc0) === 0xfe80) return "private"; // fe80::/10 link-local
  if ((first & 0xff00) === 0xff00) return "reserved"; // multicast
  if (first === 0x2001 && g[1] === 0xdb8) return "reserved"; // documentation
  return "public";
}

function addressProblem(ip: string, p: TargetPolicy): string | undefined {
  const c = addressClass(ip);
  if (c === "public") return undefined;
  if (c === "loopback" && p.allowHttp) return undefined;
  if (c === "private" && p.allowPrivate) return undefined;
  return `${c} address refused`;
}

const bare = (host: string) => host.replace(/^\[|\]$/g, "");
// A fully qualified name may end in dots (`localhost.`): the same host to a resolver.
const isLoopbackName = (host: string) => {
  const name = host.toLowerCase().replace(/\.+$/, "");
  return name === "localhost" || name.endsWith(".localhost");
};

/** What can be checked without DNS: scheme, credentials, a literal or loopback host. */
export function checkTarget(raw: string, p: TargetPolicy): TargetCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "url: must be an absolute URL" };
  }
  if (url.username || url.password) return { ok: false, reason: "url: must not carry credentials" };
  const host = bare(url.hostname);
  const literal = isIP(host) !== 0;
  const loopback = isLoopbackName(host) || (literal && addressClass(host) === "loopback");
  if (url.protocol === "http:") {
    if (!p.allowHttp) return { ok: false, reason: "url: must use https://" };
    if (!loopback) return { ok: false, reason: "url: http:// is allowed to loopback only" };
  } else if (url.protocol !== "https:") {
    return { ok: false, reason: "url: must use https://" };
  }
  if (isLoopbackName(host) && !p.allowHttp) return { ok: false, reason: "url: loopback address refused" };
  if (literal) {
    const problem = addressProblem(host, p);
    if (problem) return { ok: false, reason: `url: ${problem}` };
  }
  return { ok: true, url };
}

export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Before each delivery: the static checks, then every address the host resolves to. (fetch
 * resolves once more; that window is milliseconds, where a save-time-only check was forever.)
 */
export async function checkTargetNow(raw: string, p: TargetPolicy, resolve: Resolver = systemResolver): Promise<TargetCheck> {
  const first = checkTarget(raw, p);
  if (!first.ok) return first;
  const host = bare(first.url.hostname);
  if (isIP(host)) return first;
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    return { ok: false, reason: "host did not resolve" };
  }
  if (addresses.length === 0) return { ok: false, reason: "host did not resolve" };
  for (const a of addresses) {
    const problem = addressProblem(a, p);
    if (problem) return { ok: false, reason: `host resolves to a ${problem}` };
  }
  return first;
}
