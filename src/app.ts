import { Elysia } from "elysia";
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
import { openApiRoutes } from "./openapi/routes";

export function createApp(ctx: AppContext) {
  const table = new RouteTable();
  const app = new Elysia({ name: "chatgate" })
    .use(corePlugin(ctx, table))
    .use(openApiRoutes())
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
