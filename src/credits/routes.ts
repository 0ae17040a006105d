import { Elysia } from "elysia";
import type { AppContext } from "../context";

export function creditsRoutes(ctx: AppContext) {
  return new Elysia().use(ctx.auth);
}
