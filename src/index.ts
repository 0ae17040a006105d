import pkg from "../package.json";
import { createApp } from "./app";
import { parseArgs, USAGE } from "./cli";
import { ConfigError, loadConfig, type Config } from "./config";
import { createContext, stopContext } from "./context";
import { openDatabase } from "./db/client";
import { migrate } from "./db/migrate";
import { AppError } from "./http/errors";
import { checkFlowiseAtStart } from "./health/flowise-probe";
import { createLogger } from "./http/logger";
import { ensureBootstrapAdmin, createUser } from "./identity/users";

async function main(): Promise<number> {
  const command = parseArgs(process.argv.slice(2));
  if (command.kind === "help") return console.log(USAGE), 0;
  if (command.kind === "version") return console.log(pkg.version), 0;
  if (command.kind === "usage-error") return console.error(`chatgate: ${command.message}\n\n${USAGE}`), 2;

  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) return console.error(`chatgate: invalid configuration: ${e.message}`), 1;
    throw e;
  }
  const log = createLogger(config.logLevel);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, log });
  const applied = await migrate(database.db);
  if (applied.length) log.info("migrations applied", { migrations: applied });

  if (command.kind === "migrate") {
    console.log(applied.length ? `applied ${applied.join(", ")}` : "database is up to date");
    await database.close();
    return 0;
  }
  if (command.kind === "user-create") {
    try {
      const u = await createUser(database.db, command);
      console.log(JSON.stringify({ id: u.id, email: u.email, role: u.role }));
      return 0;
    } catch (e) {
      if (e instanceof AppError) return console.error(`chatgate: ${e.message}`), 1;
      throw e;
    } finally {
      await database.close();
    }
  }

  const ctx = await createContext(config, database, log);
  const bootstrap = await ensureBootstrapAdmin(ctx);
  const app = createApp(ctx).listen({
    port: config.port,
    hostname: config.host,
    maxRequestBodySize: config.maxBodyBytes,
    // SSE streams send a heartbeat every 15 s; the idle timeout must be longer.
    idleTimeout: 60,
  });
  const base = `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${app.server!.port}`;
  const banner = [
    `chatgate ${pkg.version} listening on ${base} (database: ${database.kind}${database.kind === "pglite" ? ` at ${config.dataDir}` : ""})`,
    `OpenAPI: ${base}/swagger (JSON: ${base}/swagger/json)`,
  ];
  if (bootstrap) {
    banner.push(
      bootstrap.password
        ? `first admin: ${bootstrap.email} with password ${bootstrap.password} (shown once; change it)`
        : `first admin: ${bootstrap.email} with the password from ADMIN_PASSWORD`,
    );
  }
  // One write, so whoever reads the banner gets all of it at once.
  process.stdout.write(banner.join("\n") + "\n");
  void checkFlowiseAtStart(config, log);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal, grace_ms: config.shutdownGraceMs });
    // Stop accepting; open requests and streams get the grace period. Shortly before it ends,
    // streams still open are told to close with an error frame; whatever remains is then cut.
    const graceful = app.server!.stop(false);
    const warnAt = Math.max(0, config.shutdownGraceMs - Math.min(1000, config.shutdownGraceMs / 2));
    const warn = setTimeout(() => ctx.shutdown.abort(), warnAt);
    const timedOut = await Promise.race([
      Promise.resolve(graceful).then(() => false),
      Bun.sleep(config.shutdownGraceMs).then(() => true),
    ]);
    clearTimeout(warn);
    if (timedOut) await app.server!.stop(true);
    await stopContext(ctx);
    await database.close();
    log.info("stopped", { forced: timedOut });
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    console.error(`chatgate: fatal: ${err?.message ?? err}`);
    process.exit(1);
  },
);
