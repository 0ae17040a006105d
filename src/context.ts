import type { Config } from "./config";
import type { Database, DB } from "./db/client";
import { Authenticator } from "./http/authenticator";
import { authPlugin, type AuthPlugin } from "./http/auth";
import { createLogger, errorSummary, type Logger } from "./http/logger";
import { Metrics } from "./http/metrics";
import { registerRuntimeMetrics } from "./http/process-metrics";
import { RevocationBus } from "./identity/revocations";
import { UserCache } from "./identity/user-cache";
import { TokenSigner } from "./tokens/jwt";
import { deriveSigningKeys, loadMasterSecret } from "./tokens/keys";
import { FEATURE_SETUPS } from "./features";

/** Something a feature runs in the background (outbox worker, reconciler, batched writes). */
export interface Worker {
  name: string;
  stop(): Promise<void>;
}

/** Everything services and routes need; tests build one per app on a fresh database. */
export interface AppContext {
  config: Config;
  database: Database;
  db: DB;
  log: Logger;
  metrics: Metrics;
  signer: TokenSigner;
  bus: RevocationBus;
  users: UserCache;
  authn: Authenticator;
  auth: AuthPlugin;
  /** Distinguishes this process in multi-instance state (reservations, outbox claims). */
  instanceId: string;
  workers: Worker[];
  /** Aborted shortly before the shutdown grace period ends: open streams close with an error frame. */
  shutdown: AbortController;
  /** Feature-owned services hang here, typed by each feature's setup. */
  services: Record<string, unknown>;
}

export async function createContext(config: Config, database: Database, log?: Logger): Promise<AppContext> {
  const logger = log ?? createLogger(config.logLevel);
  const master = await loadMasterSecret(database.db, {
    configured: config.jwtSecret,
    embedded: database.kind === "pglite",
    dataDir: config.dataDir,
  });
  const previous = config.jwtSecretPrevious ? await deriveSigningKeys(new TextEncoder().encode(config.jwtSecretPrevious)) : undefined;
  const signer = new TokenSigner(await deriveSigningKeys(master), config.issuer, previous);
  const bus = new RevocationBus(database, logger);
  await bus.start();
  const users = new UserCache(database.db, bus);
  const authn = new Authenticator(database.db, signer, bus, users);
  const ctx: AppContext = {
    config,
    database,
    db: database.db,
    log: logger,
    metrics: new Metrics(),
    signer,
    bus,
    users,
    authn,
    auth: authPlugin(authn),
    instanceId: crypto.randomUUID(),
    workers: [{ name: "revocations", stop: () => bus.stop() }, authn.apiTokenUse.start("api-token-last-used", logger)],
    shutdown: new AbortController(),
    services: {},
  };
  registerRuntimeMetrics(ctx.metrics, database.pool);
  for (const setup of FEATURE_SETUPS) {
    const workers = await setup(ctx);
    if (workers) ctx.workers.push(...workers);
  }
  return ctx;
}

export async function stopContext(ctx: AppContext): Promise<void> {
  for (const w of [...ctx.workers].reverse()) {
    await w.stop().catch((err) => ctx.log.warn("worker stop failed", { worker: w.name, error: errorSummary(err) }));
  }
}
