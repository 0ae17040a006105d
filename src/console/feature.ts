import { defineFeature } from "../kernel/feature";
import { consoleRoutes } from "./routes";

/** The admin console served from the binary at /admin. */
export const consoleFeature = defineFeature({ name: "console", routes: (core) => consoleRoutes(core) });
