import { defineFeature } from "../kernel/feature";
import { SIGNING_KEY_ERRORS } from "./errors";
import { signingKeyRoutes } from "./routes";
import { SigningKeyStore } from "./service";

/** The asymmetric keys of JWT_ALG=EdDSA|ES256: stored sealed, plugged into the kernel signer, rotated. */
export const signingKeysFeature = defineFeature({
  name: "signing-keys",
  errors: SIGNING_KEY_ERRORS,
  async setup(core) {
    const store = new SigningKeyStore(core.db, core.sealer, core.config, core.bus, core.log);
    await store.start();
    if (store.enabled) core.signer.plugKeys(store);
    return { services: { store } };
  },
  routes: (core, services) => signingKeyRoutes(core, services.store),
});
