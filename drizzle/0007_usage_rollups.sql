CREATE TABLE "usage_rollups" (
	"bucket" timestamp with time zone NOT NULL,
	"user_id" text NOT NULL,
	"api_key_id" text NOT NULL,
	"chatflow_id" text NOT NULL,
	"requests" bigint DEFAULT 0 NOT NULL,
	"predictions" bigint DEFAULT 0 NOT NULL,
	"failed_predictions" bigint DEFAULT 0 NOT NULL,
	"credits_spent" bigint DEFAULT 0 NOT NULL,
	"tokens_access" bigint DEFAULT 0 NOT NULL,
	"tokens_refresh" bigint DEFAULT 0 NOT NULL,
	"tokens_chat" bigint DEFAULT 0 NOT NULL,
	"tokens_stream" bigint DEFAULT 0 NOT NULL,
	"tokens_api" bigint DEFAULT 0 NOT NULL,
	"rate_limited" bigint DEFAULT 0 NOT NULL,
	"logins" bigint DEFAULT 0 NOT NULL,
	"failed_logins" bigint DEFAULT 0 NOT NULL,
	"errors" bigint DEFAULT 0 NOT NULL,
	"server_errors" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_rollups_bucket_user_id_api_key_id_chatflow_id_pk" PRIMARY KEY("bucket","user_id","api_key_id","chatflow_id")
);
--> statement-breakpoint
CREATE INDEX "usage_rollups_user_idx" ON "usage_rollups" USING btree ("user_id","bucket");--> statement-breakpoint
CREATE INDEX "usage_rollups_key_idx" ON "usage_rollups" USING btree ("api_key_id","bucket");