// DATABASE_POOLER / DATABASE_LISTEN_URL / DATABASE_POOL_SIZE: a transaction pooler without a
// direct LISTEN connection is refused at start with the variable named.
import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/config";

const PG = "postgres://chatgate@127.0.0.1:6432/app";
const DIRECT = "postgres://chatgate@127.0.0.1:5432/app";
// DATABASE_URL needs a configured master secret; these cases are about the pooler alone.
const load = (env: Record<string, string>) => loadConfig({ JWT_SECRET: "pooler-config-test-secret-of-32-bytes!!", ...env });

function configError(env: Record<string, string>): ConfigError {
  try {
    load(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("database pooler configuration", () => {
  test("defaults: no pooler, pool of 10, no LISTEN URL", () => {
    const c = load({ DATABASE_URL: DIRECT });
    expect({ pooler: c.databasePooler, pool: c.databasePoolSize, listen: c.databaseListenUrl }).toEqual({ pooler: "none", pool: 10, listen: undefined });
  });

  test("transaction mode requires DATABASE_LISTEN_URL", () => {
    const e = configError({ DATABASE_URL: PG, DATABASE_POOLER: "transaction" });
    expect(e.variable).toBe("DATABASE_LISTEN_URL");
    expect(e.message).toContain("DATABASE_POOLER=transaction");
    const c = load({ DATABASE_URL: PG, DATABASE_POOLER: "transaction", DATABASE_LISTEN_URL: DIRECT });
    expect({ pooler: c.databasePooler, listen: c.databaseListenUrl }).toEqual({ pooler: "transaction", listen: DIRECT });
  });

  test("session mode works without a LISTEN URL; bad values name the variable", () => {
    expect(load({ DATABASE_URL: PG, DATABASE_POOLER: "session" }).databasePooler).toBe("session");
    expect(configError({ DATABASE_URL: PG, DATABASE_POOLER: "statement" }).variable).toBe("DATABASE_POOLER");
    expect(configError({ DATABASE_URL: PG, DATABASE_LISTEN_URL: "http://x" }).variable).toBe("DATABASE_LISTEN_URL");
    expect(configError({ DATABASE_URL: PG, DATABASE_POOL_SIZE: "0" }).variable).toBe("DATABASE_POOL_SIZE");
    expect(configError({ DATABASE_POOLER: "session" }).variable).toBe("DATABASE_POOLER");
  });
});
