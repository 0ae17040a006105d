import { Elysia } from "elysia";
import { adminTokensRoutes } from "../admin-tokens/routes";
import type { AppContext } from "../context";
import { authRoutes } from "./auth-routes";
import { chatAuthRoutes } from "./chat-auth-routes";
import { identityModels } from "./model";

export function identityRoutes(ctx: AppContext) {
  return new Elysia().model(identityModels).use(chatAuthRoutes(ctx)).use(authRoutes(ctx)).use(adminTokensRoutes(ctx));
}
