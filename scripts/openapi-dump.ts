// Writes the OpenAPI document the app serves at /swagger/json to a file (default: stdout), from
// an app on a throw-away embedded database: CI validates and generates a client from it.
import { createApp, createContext, stopContext } from "../src/app";
import { loadConfig } from "../src/config";
import { openDatabase } from "../src/db/client";
import { migrate } from "../src/db/migrate";
import { createLogger } from "../src/http/logger";

const out = process.argv[2];
const config = loadConfig({ ...process.env, DATABASE_URL: "", DATA_DIR: "memory://", JWT_SECRET: "x".repeat(32), LOG_LEVEL: "error" });
const database = await openDatabase({ dataDir: "memory://" });
await migrate(database.db);
const ctx = await createContext(config, database, createLogger("error"));
const res = await createApp(ctx).handle(new Request("http://localhost/swagger/json"));
if (res.status !== 200) throw new Error(`/swagger/json answered ${res.status}`);
const text = `${JSON.stringify(await res.json(), null, 2)}\n`;
if (out) await Bun.write(out, text);
else process.stdout.write(text);
await stopContext(ctx);
await database.close();
