CREATE TABLE "signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"issuer" text NOT NULL,
	"alg" text NOT NULL,
	"public_jwk" jsonb NOT NULL,
	"private_key" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"activated_at" timestamp with time zone,
	"superseded_at" timestamp with time zone,
	"not_after" timestamp with time zone,
	CONSTRAINT "signing_keys_alg_check" CHECK ("signing_keys"."alg" in ('EdDSA', 'ES256'))
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "scopes" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "signing_keys_current_idx" ON "signing_keys" USING btree ("issuer") WHERE "signing_keys"."activated_at" is not null and "signing_keys"."superseded_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "signing_keys_next_idx" ON "signing_keys" USING btree ("issuer") WHERE "signing_keys"."activated_at" is null;