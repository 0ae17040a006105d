import type { Config } from "../config";
import type { RequestIpSource } from "../kernel/principal";

/**
 * The socket peer. X-Forwarded-For is read only behind a proxy the operator vouches for
 * (TRUST_PROXY), and then its last entry: the one that proxy appended, not one a client wrote.
 */
export function clientAddress(config: Pick<Config, "trustProxy">, server: RequestIpSource | null | undefined, request: Request): string {
  if (config.trustProxy) {
    const forwarded = request.headers.get("x-forwarded-for");
    const last = forwarded
      ?.split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .pop();
    if (last && last.length <= 64) return last;
  }
  try {
    return server?.requestIP(request)?.address ?? "unknown";
  } catch {
    return "unknown";
  }
}
