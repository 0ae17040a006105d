import { Elysia, t } from "elysia";
import type { Core } from "../kernel/core";
import { errorFamily } from "../http/errors";
import { SIGNING_KEY_ERRORS } from "./errors";
import type { SigningKeyStore } from "./service";

const rotated = t.Object({
  kid: t.String(),
  alg: t.Union([t.Literal("EdDSA"), t.Literal("ES256")]),
  previous: t.Nullable(t.Object({ kid: t.String(), not_after: t.String({ description: "when the replaced key is retired" }) })),
});

export function signingKeyRoutes(ctx: Core, store: SigningKeyStore) {
  return new Elysia({ prefix: "/api/admin/signing-keys", tags: ["signing keys"] })
    .onTransform(errorFamily("admin"))
    .use(ctx.auth)
    .post(
      "/rotate",
      async () => {
        if (!store.enabled) throw SIGNING_KEY_ERRORS.HS256_NO_KEYS();
        return store.rotate();
      },
      {
        admin: true,
        response: rotated,
        detail: { summary: "Make a new signing key current; the previous one stays in the JWKS until its tokens have expired (admin)" },
      },
    );
}
