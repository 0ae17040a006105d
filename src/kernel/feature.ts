import type { AnyElysia } from "elysia";
import type { ErrorCatalog } from "../http/errors";
import type { Core, Worker } from "./core";

/** What a feature's setup hands back: its services (typed) and the workers it started. */
export interface Started<S> {
  services: S;
  workers?: Worker[];
}

/**
 * The one contract every feature module follows (see docs/ARCHITECTURE.md):
 * - `setup` builds the feature's services from the kernel (`core`) and the services of the
 *   features it names in `D`, and plugs any credential check into the authenticator;
 * - `routes` mounts its route groups, each declaring its error body family as its first hook
 *   (`.onTransform(errorFamily("admin"))`, src/http/errors.ts; read by src/http/route-table.ts);
 * - `errors` is its catalog (code → status → message, `defineErrors`), walked by
 *   test/http/error-catalogs.test.ts.
 * Tables live in the feature's `schema.ts` (re-exported by src/db/schema for drizzle-kit).
 * `src/app.ts` lists every feature once and passes each exactly what it names.
 */
export interface Feature<S = undefined, D = unknown> {
  name: string;
  /** The feature's error catalog (`defineErrors` in src/http/errors.ts). */
  errors?: ErrorCatalog;
  setup?(core: Core, deps: D): Started<S> | Promise<Started<S>>;
  routes?(core: Core, services: S, deps: D): AnyElysia;
}

/** Declares a feature with its types inferred from the object (no casts at the call sites). */
export const defineFeature = <S = undefined, D = unknown>(f: Feature<S, D>): Feature<S, D> => f;

export const NO_SERVICES: Started<undefined> = { services: undefined };
