import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { contactsRoutes } from "./contacts-routes";
import { messagesRoutes } from "./messages-routes";
import { messagingModels } from "./model";
import { templatesRoutes } from "./templates-routes";

export function messagingRoutes(ctx: AppContext) {
  return new Elysia().model(messagingModels).use(contactsRoutes(ctx)).use(templatesRoutes(ctx)).use(messagesRoutes(ctx));
}
