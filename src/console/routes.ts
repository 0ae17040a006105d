import { Elysia } from "elysia";
import type { Core } from "../kernel/core";
import { consoleFavicon, consoleScript, consoleStyle } from "./assets.gen";
import { pageHeaders } from "../http/page-headers";
import { errorFamily } from "../http/errors";

// Everything the page loads comes from here; the API calls it makes are same-origin.
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export const CONSOLE_HEADERS = pageHeaders(CONSOLE_CSP);

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>chatgate admin</title>
<link rel="icon" href="/admin/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/admin/app.css">
<script type="module" src="/admin/app.js"></script>
</head>
<body>
<div id="app"><noscript>The chatgate admin console needs JavaScript.</noscript></div>
</body>
</html>
`;

function asset(body: string, type: string, cache: string): Response {
  return new Response(body, { headers: { ...CONSOLE_HEADERS, "content-type": type, "cache-control": cache } });
}

/** `GET /admin`: the operators' console, bundled into the binary (src/console/build.ts). */
export function consoleRoutes(_ctx: Core) {
  const page = () => asset(PAGE, "text/html; charset=utf-8", "no-store");
  const hide = { detail: { hide: true } };
  return new Elysia({ name: "console" })
    .onTransform(errorFamily("detail"))
    .get("/admin", page, hide)
    .get("/admin/", page, hide)
    .get("/admin/app.js", () => asset(consoleScript, "text/javascript; charset=utf-8", "no-cache"), hide)
    .get("/admin/app.css", () => asset(consoleStyle, "text/css; charset=utf-8", "no-cache"), hide)
    .get("/admin/favicon.svg", () => asset(consoleFavicon, "image/svg+xml", "no-cache"), hide);
}
