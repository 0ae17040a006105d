import { Elysia, t } from "elysia";
import type { Core } from "../kernel/core";
import { AppError } from "../http/errors";
import type { SigningKeyStore } from "./service";

const rotated = t.Object({
  kid: t.String(),
  alg: t.Union([t.Literal("EdDSA"), t.Literal("ES256")]),
  previous: t.Nullable(t.Object({ kid: t.String(), not_after: t.String({ description: "when the replaced key is retired" }) })),
});

export function signingKeyRoutes(ctx: Core, store: SigningKeyStore) {
  return new Elysia({ prefix: "/api/admin/signing-keys", tags: ["signing keys"] })
    .use(ctx.auth)
    .post(
      "/rotate",
      async () => {
        if (!store.enabled) throw new AppError("CONFLICT", "JWT_ALG is HS256: there are no signing keys to rotate (rotate the master secret instead)");
        return store.rotate();
      },
      {
        admin: true,
        response: rotated,
        detail: { summary: "Make a new signing key current; the previous one stays in the JWKS until its tokens have expired (admin)" },
      },
    );
}
