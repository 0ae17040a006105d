#!/usr/bin/env bash
# The OpenAPI document checked by the tools clients use: swagger-parser and `redocly lint` (zero
# errors), then a client generated with openapi-typescript, a program written against it
# type-checked and run against a live server (log in, create a key, read an error body).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT

npx bun scripts/openapi-dump.ts "$tmp/openapi.json"
node -e 'require("@apidevtools/swagger-parser").validate(process.argv[1]).then(() => console.log("swagger-parser: valid"), (e) => { console.error(e.message); process.exit(1); })' "$tmp/openapi.json"
npx redocly lint "$tmp/openapi.json" --format=summary
npx openapi-typescript "$tmp/openapi.json" -o .ci/typed-client/schema.gen.ts
npx tsc -p .ci/typed-client/tsconfig.json

password="ci-$(head -c 18 /dev/urandom | base64 | tr -dc A-Za-z0-9)"
port=$((20000 + RANDOM % 20000))
PORT=$port HOST=127.0.0.1 DATA_DIR=memory:// ADMIN_EMAIL=ci@example.test ADMIN_PASSWORD="$password" LOG_LEVEL=warn \
  node_modules/.bin/bun src/index.ts serve > "$tmp/server.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$tmp/server.log"; exit 1; }
  sleep 0.5
done
CHATGATE_URL="http://127.0.0.1:$port" CHATGATE_EMAIL=ci@example.test CHATGATE_PASSWORD="$password" npx bun .ci/typed-client/example.ts
