import { defineFeature } from "../kernel/feature";
import { openApiRoutes } from "./routes";

/** The OpenAPI 3.1 document of every route and its reference page. */
export const openApiFeature = defineFeature({ name: "openapi", routes: () => openApiRoutes() });
