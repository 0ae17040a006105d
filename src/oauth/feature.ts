import { defineFeature } from "../kernel/feature";
import type { SigningKeyStore } from "../signing-keys/service";
import { OAUTH_ERRORS } from "./errors";
import { oauthRoutes } from "./routes";

/** What other services need to check chatgate's tokens: JWKS, RFC 8414 metadata, RFC 7662 introspection, RFC 7009 revocation. */
export const oauthFeature = defineFeature({
  name: "oauth",
  errors: OAUTH_ERRORS,
  routes: (core, _services: undefined, deps: { signingKeys: { store: SigningKeyStore } }) => oauthRoutes(core, deps.signingKeys.store),
});
