import type { Config } from "../config";
import type { Database, DB } from "../db/client";
import { createLogger, type Logger } from "../http/logger";
import { Metrics } from "../http/metrics";
import { registerRuntimeMetrics } from "../http/process-metrics";
import { Authenticator } from "./authenticator";
import { authPlugin, type AuthPlugin } from "./guard";
import { TokenSigner } from "./jwt";
import { RevocationBus } from "./revocations";
import { createSealer, deriveSigningKeys, loadMasterSecret, type KeySealer } from "./signing-keys";

/** Something a feature runs in the background (outbox worker, reconciler, batched writes). */
export interface Worker {
  name: string;
  stop(): Promise<void>;
}

/**
 * The kernel every feature receives: configuration, the database, logging and metrics, and the
 * auth kernel (signer, revocation bus, authenticator and its route macros). It knows no feature.
 */
export interface Core {
  config: Config;
  database: Database;
  db: DB;
  log: Logger;
  metrics: Metrics;
  signer: TokenSigner;
  /** Encrypts stored secrets (private signing keys) with a key derived from the master secret. */
  sealer: KeySealer;
  bus: RevocationBus;
  authn: Authenticator;
  /** Elysia macros (`access`, `admin`, `apiKey`, `auth`, ...) resolving `principal`. */
  auth: AuthPlugin;
  /** Distinguishes this process in multi-instance state (reservations, outbox claims). */
  instanceId: string;
  /** Aborted shortly before the shutdown grace period ends: open streams close with an error frame. */
  shutdown: AbortController;
  /** The kernel's own background work (the revocation bus). */
  workers: Worker[];
  /** Extra facts /readyz reports (informational, never affecting readiness), e.g. the TLS expiry. */
  readiness: (() => Record<string, string>)[];
}

export async function createCore(config: Config, database: Database, log?: Logger): Promise<Core> {
  const logger = log ?? createLogger(config.logLevel);
  const master = await loadMasterSecret(database.db, {
    configured: config.jwtSecret,
    embedded: database.kind === "pglite",
    dataDir: config.dataDir,
  });
  const previousMaster = config.jwtSecretPrevious ? new TextEncoder().encode(config.jwtSecretPrevious) : undefined;
  const previous = previousMaster ? await deriveSigningKeys(previousMaster) : undefined;
  const signer = new TokenSigner(await deriveSigningKeys(master), config.issuer, previous, config.jwtAlg);
  const sealer = await createSealer(master, previousMaster);
  const bus = new RevocationBus(database, logger);
  await bus.start();
  const metrics = new Metrics();
  const rejections = metrics.counter("chatgate_credential_rejections_total", "Credentials refused, by kind and reason");
  const authn = new Authenticator(signer, bus, rejections);
  registerRuntimeMetrics(metrics, database.pool);
  return {
    config,
    database,
    db: database.db,
    log: logger,
    metrics,
    signer,
    sealer,
    bus,
    authn,
    auth: authPlugin(authn),
    instanceId: crypto.randomUUID(),
    shutdown: new AbortController(),
    workers: [{ name: "revocations", stop: () => bus.stop() }],
    readiness: [],
  };
}
