import { swagger } from "@elysiajs/swagger";
import { Elysia } from "elysia";
import pkg from "../package.json";
import { chatRoutes } from "./chat/routes";
import { chatflowsRoutes } from "./chatflows/routes";
import type { AppContext } from "./context";
import { consoleRoutes } from "./console/routes";
import { healthRoutes } from "./health/routes";
import { creditsRoutes } from "./credits/routes";
import { corePlugin } from "./http/core";
import { RouteTable } from "./http/route-table";
import { identityRoutes } from "./identity/routes";
import { keysRoutes } from "./keys/routes";
import { messagingRoutes } from "./messaging/routes";

export function createApp(ctx: AppContext) {
  const table = new RouteTable();
  const app = new Elysia({ name: "chatgate" })
    .use(corePlugin(ctx, table))
    .use(
      swagger({
        path: "/swagger",
        exclude: ["/swagger", "/swagger/json"],
        documentation: {
          info: { title: "chatgate", version: pkg.version, description: "Auth and token gateway of a chat stack" },
          components: {
            securitySchemes: {
              bearerAuth: { type: "http", scheme: "bearer" },
              apiKeyHeader: { type: "apiKey", in: "header", name: "X-API-Key" },
            },
          },
        },
      }),
    )
    .use(healthRoutes(ctx))
    .use(identityRoutes(ctx))
    .use(keysRoutes(ctx))
    .use(chatflowsRoutes(ctx))
    .use(creditsRoutes(ctx))
    .use(chatRoutes(ctx))
    .use(messagingRoutes(ctx))
    .use(consoleRoutes(ctx));
  table.bind(app);
  return app;
}

export type App = ReturnType<typeof createApp>;
