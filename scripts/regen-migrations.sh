#!/usr/bin/env bash
# Before the first release there is one initial migration: regenerate it from the schema.
# After a release, use `bun run db:generate` to add numbered migrations instead.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf drizzle
./node_modules/.bin/drizzle-kit generate --name init >/dev/null
./node_modules/.bin/bun run scripts/embed-migrations.ts
