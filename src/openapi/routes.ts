import { filterPaths, registerSchemaPath } from "@elysiajs/swagger/utils";
import { Elysia } from "elysia";
import pkg from "../../package.json";
import { finishDocument, modelNamer } from "./document";
import { SCALAR_BUNDLE_PATH, SCALAR_VERSION } from "./scalar-asset";
import { pageHeaders } from "../http/page-headers";
import { declaredFamily } from "../http/route-table";
import { errorFamily } from "../http/errors";

// Scalar injects its styles at run time (hence 'unsafe-inline' for styles only); scripts, fonts,
// images and API calls stay on this origin. No inline script: the page's one call is in init.js.
export const REFERENCE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const HEADERS = pageHeaders(REFERENCE_CSP);

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>chatgate API reference</title>
</head>
<body>
<div id="app"><noscript>The API reference needs JavaScript; the document itself is at /swagger/json.</noscript></div>
<script src="/swagger/scalar.js?v=${SCALAR_VERSION}"></script>
<script src="/swagger/init.js"></script>
</body>
</html>
`;

// Everything that would reach another origin is off: fonts (system fonts instead), telemetry,
// the AI agent, and the CORS proxy ("Try it" calls go straight to this origin).
const INIT = `Scalar.createApiReference("#app", ${JSON.stringify({
  url: "/swagger/json",
  withDefaultFonts: false,
  telemetry: false,
  showDeveloperTools: "never",
  agent: { disabled: true },
  mcp: { disabled: true },
  hideClientButton: true,
  documentDownloadType: "json",
})});\n`;

function send(body: BodyInit, type: string, cache = "no-cache"): Response {
  return new Response(body, { headers: { ...HEADERS, "content-type": type, "cache-control": cache } });
}

const INFO = {
  title: "chatgate",
  version: pkg.version,
  description:
    "Auth and token gateway of a chat stack. Each route family answers errors in its own body " + "(see the DetailError, AdminError, MessagingError and StreamError schemas).",
};

const SECURITY_SCHEMES = {
  bearerAuth: { type: "http", scheme: "bearer", description: "Access token, admin-issued API token or API key" },
  apiKeyHeader: { type: "apiKey", in: "header", name: "X-API-Key", description: "An sk_live_/sk_test_ API key" },
};

/**
 * `GET /swagger/json` (the OpenAPI 3.1 document of every route the app serves) and `GET /swagger`
 * (the API reference page, served from the binary). The document is built on first request and
 * rebuilt only when the route table grows.
 */
export function openApiRoutes() {
  const hide = { detail: { hide: true } };
  let cached: { routes: number; doc: Record<string, unknown> } | undefined;
  const app = new Elysia({ name: "openapi" }).onTransform(errorFamily("detail"));
  // The same route table @elysiajs/swagger reads (protected in Elysia's types, public at run time).
  const internals = app as unknown as {
    getGlobalRoutes(): { method: string; path: string; hooks: any }[];
    getGlobalDefinitions?(): { type: Record<string, unknown> };
  };
  const build = () => {
    const routes = internals.getGlobalRoutes();
    if (cached?.routes === routes.length) return cached.doc;
    const paths: Record<string, any> = {};
    const models = (internals.getGlobalDefinitions?.().type ?? {}) as Record<string, any>;
    const byName = modelNamer(models);
    for (const route of routes) {
      if (route.hooks?.detail?.hide === true || route.method === "OPTIONS" || route.method === "ALL") continue;
      // The family its group declared picks the documented error body (see ./errors).
      const named = byName(route.hooks);
      const hook = { ...named, detail: { ...named?.detail, "x-error-family": declaredFamily(route.hooks ?? {}) } };
      registerSchemaPath({ schema: paths, hook, method: route.method, path: route.path, models } as any);
    }
    const raw = {
      info: INFO,
      paths: filterPaths(paths, { excludeStaticFile: true, exclude: [] }),
      components: { securitySchemes: SECURITY_SCHEMES, schemas: models },
    };
    cached = { routes: routes.length, doc: finishDocument(raw) };
    return cached.doc;
  };
  return (
    app
      .get("/swagger/json", () => build(), hide)
      .get("/swagger", () => send(PAGE, "text/html; charset=utf-8", "no-store"), hide)
      .get("/swagger/init.js", () => send(INIT, "text/javascript; charset=utf-8"), hide)
      // 4.8 MB: cached for a year, safe because the page names the version in the URL.
      .get("/swagger/scalar.js", () => send(Bun.file(SCALAR_BUNDLE_PATH), "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"), hide)
  );
}
