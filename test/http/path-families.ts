import type { Family } from "../../src/http/errors";

/**
 * The error family each path prefix answered with before route groups declared theirs (the old
 * `familyOf` of src/http/errors.ts, frozen): the oracle that declared families change nothing.
 */
export function familyOfPath(path: string): Family {
  if (path.startsWith("/stream-chat")) return "stream";
  // Added with issue 21: the OAuth endpoints answer RFC 6749 error bodies.
  if (path.startsWith("/oauth/") || path.startsWith("/.well-known/")) return "oauth";
  if (path.startsWith("/api/admin")) return "admin";
  if (path.startsWith("/api/messages") || path.startsWith("/api/contacts") || path.startsWith("/api/templates")) {
    return "messaging";
  }
  if (path.startsWith("/chat") || path.startsWith("/api-key")) return "brain";
  return "detail";
}
