CREATE TABLE "rate_limit_policies" (
	"subject_kind" text NOT NULL,
	"subject_id" text NOT NULL,
	"limit" integer NOT NULL,
	"window_s" integer NOT NULL,
	CONSTRAINT "rate_limit_policies_subject_kind_subject_id_pk" PRIMARY KEY("subject_kind","subject_id"),
	CONSTRAINT "rate_limit_policies_kind_check" CHECK ("rate_limit_policies"."subject_kind" in ('key', 'user')),
	CONSTRAINT "rate_limit_policies_positive" CHECK ("rate_limit_policies"."limit" > 0 and "rate_limit_policies"."window_s" > 0)
);
--> statement-breakpoint
CREATE TABLE "rate_limit_windows" (
	"policy_key" text PRIMARY KEY NOT NULL,
	"window_start_ms" bigint NOT NULL,
	"window_s" integer NOT NULL,
	"granted" integer NOT NULL,
	"last_grant" integer NOT NULL
);
