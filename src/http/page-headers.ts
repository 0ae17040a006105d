/**
 * Headers of a page chatgate serves itself (the admin console, the API reference): its own CSP,
 * and no framing, sniffing, referrer or cross-origin embedding.
 */
export function pageHeaders(csp: string): Record<string, string> {
  return {
    "content-security-policy": csp,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  };
}
