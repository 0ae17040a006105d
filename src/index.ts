import pkg from "../package.json";
import { createApp, createContext, stopContext, type AppContext } from "./app";
import { parseArgs, readPassword, USAGE } from "./cli";
import { ConfigError, loadConfig, type Config } from "./config";
import { openDatabase, type Database } from "./db/client";
import { migrate } from "./db/migrate";
import { AppError } from "./http/errors";
import { checkFlowiseAtStart } from "./health/flowise-probe";
import { createLogger } from "./http/logger";
import { passwordProblem } from "./identity/passwords";
import { ensureBootstrapAdmin, createUser } from "./identity/users";
import { CLI_ACTOR, record } from "./audit/service";
import { writeFirstAdminPassword } from "./ops/first-admin";
import { healthcheck } from "./ops/healthcheck";
import { describeAddress, explainListenError, StartupError } from "./ops/listen";
import { claimPort, loadCertificatePair, startRedirectListener, TlsCertificates, TlsError, tlsOptions, type CertificatePair } from "./ops/tls";
import { startTracing, stopTracing } from "./ops/tracing";

async function main(): Promise<number> {
  const command = parseArgs(process.argv.slice(2));
  if (command.kind === "help") return (console.log(USAGE), 0);
  if (command.kind === "version") return (console.log(pkg.version), 0);
  if (command.kind === "usage-error") return (console.error(`chatgate: ${command.message}\n\n${USAGE}`), 2);

  if (command.kind === "healthcheck") return healthcheck(process.env.PORT, Boolean(process.env.TLS_CERT_FILE?.trim()));

  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) return (console.error(`chatgate: invalid configuration: ${e.message}`), 1);
    throw e;
  }
  let newPassword: string | undefined;
  if (command.kind === "user-create") {
    if (command.password !== undefined) console.error("chatgate: warning: --password is visible to other users in `ps`; prefer stdin or CHATGATE_PASSWORD");
    newPassword = command.password ?? (await readPassword());
    if (!newPassword) return (console.error("chatgate: no password: set CHATGATE_PASSWORD or pass it on stdin"), 2);
    // Before opening the database: a refused password should not cost a start-up.
    const problem = passwordProblem(newPassword);
    if (problem) return (console.error(`chatgate: ${problem}`), 1);
  }
  // Before the database opens: a bad certificate should not cost a start-up either.
  let pair: CertificatePair | undefined;
  if (command.kind === "serve" && config.tlsCertFile) {
    try {
      pair = loadCertificatePair(config.tlsCertFile, config.tlsKeyFile!);
    } catch (e) {
      if (e instanceof TlsError) return (console.error(`chatgate: invalid configuration: ${e.message}`), 1);
      throw e;
    }
  }
  const log = createLogger(config.logLevel);
  // Before the database opens, so its client is the traced one.
  const tracing = command.kind === "serve" && startTracing(process.env);
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    pooler: config.databasePooler,
    listenUrl: config.databaseListenUrl,
    poolSize: config.databasePoolSize,
    log,
  });
  const applied = await migrate(database.db);
  if (applied.length) log.info("migrations applied", { migrations: applied });

  if (command.kind === "migrate") {
    console.log(applied.length ? `applied ${applied.join(", ")}` : "database is up to date");
    await database.close();
    return 0;
  }
  if (command.kind === "user-create") {
    try {
      const u = await createUser(database.db, { ...command, password: newPassword! }, { record, actor: CLI_ACTOR });
      console.log(JSON.stringify({ id: u.id, email: u.email, role: u.role }));
      return 0;
    } catch (e) {
      if (e instanceof AppError) return (console.error(`chatgate: ${e.message}`), 1);
      throw e;
    } finally {
      await database.close();
    }
  }

  const ctx = await createContext(config, database, log);
  if (command.kind === "keys-rotate") return rotateSigningKey(ctx, database);
  const certificates = pair && new TlsCertificates(pair, { certFile: config.tlsCertFile!, keyFile: config.tlsKeyFile! }, log);
  if (certificates) {
    ctx.readiness.push(() => certificates.readiness());
    certificates.registerMetrics(ctx.metrics);
  }
  const serveOptions = {
    hostname: config.host,
    maxRequestBodySize: config.maxBodyBytes,
    // SSE streams send a heartbeat every 15 s; the idle timeout must be longer.
    idleTimeout: 60,
  };
  let app: ReturnType<typeof createApp>;
  let redirect: ReturnType<typeof startRedirectListener> | undefined;
  try {
    app = createApp(ctx).listen({
      ...serveOptions,
      // A certificate renewal binds a successor listener to the same port, which needs
      // SO_REUSEPORT; claimPort keeps a taken port a start-up error when sharing was not asked for.
      port: certificates && !config.reusePort ? claimPort(config.host, config.port) : config.port,
      // Elysia turns SO_REUSEPORT on by default, which lets a second process share a taken port
      // silently; sharing is an explicit choice here.
      reusePort: config.reusePort || Boolean(certificates),
      ...(pair ? { tls: tlsOptions(pair) } : {}),
    });
  } catch (e) {
    await stopContext(ctx);
    await database.close();
    throw explainListenError(e, config.host, config.port);
  }
  if (config.httpRedirectPort !== undefined) {
    try {
      redirect = startRedirectListener({ host: config.host, port: config.httpRedirectPort, httpsPort: app.server!.port! });
    } catch (e) {
      await app.server!.stop(true);
      await stopContext(ctx);
      await database.close();
      throw explainListenError(e, config.host, config.httpRedirectPort);
    }
  }
  // Handlers first: whoever reads the banner may signal at once, and a signal arriving before
  // them would kill the process without the graceful stop.
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal, grace_ms: config.shutdownGraceMs });
    // Stop accepting; open requests and streams get the grace period. Shortly before it ends,
    // streams still open are told to close with an error frame; whatever remains is then cut.
    redirect?.stop(true);
    const draining = certificates?.drainingServers() ?? [];
    const graceful = Promise.all([app.server!.stop(false), ...draining.map((d) => d.stop(false))]);
    const warnAt = Math.max(0, config.shutdownGraceMs - Math.min(1000, config.shutdownGraceMs / 2));
    const warn = setTimeout(() => ctx.shutdown.abort(), warnAt);
    const timedOut = await Promise.race([Promise.resolve(graceful).then(() => false), Bun.sleep(config.shutdownGraceMs).then(() => true)]);
    clearTimeout(warn);
    if (timedOut) await Promise.all([app.server!.stop(true), ...draining.map((d) => d.stop(true))]);
    await stopContext(ctx);
    await database.close();
    await stopTracing();
    log.info("stopped", { forced: timedOut });
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  if (certificates) {
    const listening = {
      get server() {
        return app.server!;
      },
      set server(next) {
        app.server = next;
      },
    };
    process.on("SIGHUP", () => {
      // A renewal during shutdown would open a listener nobody stops.
      if (stopping) return;
      certificates.reload(listening, (tls, port) => Bun.serve({ ...serveOptions, port, reusePort: true, tls, fetch: app.fetch }));
    });
  }
  const bootstrap = await ensureBootstrapAdmin({ ...ctx, record: ctx.services.audit.recorder });
  const where = describeAddress(app.server!, config.host, certificates ? "https" : "http");
  const first = bootstrap && {
    first_admin: bootstrap.email,
    // The generated password goes to a 0600 file, never to the log stream.
    first_admin_file: bootstrap.password ? writeFirstAdminPassword(config.dataDir, bootstrap.email, bootstrap.password) : "none (the password is ADMIN_PASSWORD)",
  };
  // One JSON line like every other, at any LOG_LEVEL: what is listening where, and how to log in.
  createLogger("info").info("listening", {
    version: pkg.version,
    address: where.address,
    interfaces: where.interfaces,
    url: where.url,
    openapi: `${where.url}/swagger`,
    database: database.kind,
    ...(database.kind === "pglite" ? { data_dir: config.dataDir } : {}),
    pid: process.pid,
    tracing: tracing ? "otlp" : "off",
    ...(certificates
      ? {
          tls_certificate_expires_at: certificates.current.notAfter.toISOString(),
          ...(redirect ? { http_redirect_port: redirect.port } : {}),
        }
      : {}),
    ...first,
  });
  void checkFlowiseAtStart(config, log);

  return -1;
}

/** `chatgate keys rotate`: every running instance hears of it through the revocation bus. */
async function rotateSigningKey(ctx: AppContext, database: Database): Promise<number> {
  try {
    if (!ctx.services.signingKeys.store.enabled) {
      console.error("chatgate: JWT_ALG is HS256: there are no signing keys to rotate (rotate the master secret instead)");
      return 1;
    }
    console.log(JSON.stringify(await ctx.services.signingKeys.store.rotate()));
    return 0;
  } finally {
    await stopContext(ctx);
    await database.close();
  }
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    if (err instanceof StartupError) console.error(`chatgate: ${err.message}`);
    else console.error(`chatgate: fatal: ${err?.message ?? err}`);
    process.exit(1);
  },
);
