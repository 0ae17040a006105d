# Build stage: Node + npm install the pinned Bun from the lockfile, then compile one executable.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# The postinstall step applies patches/ with patch(1), which the slim image lacks.
RUN apt-get update && apt-get install -y --no-install-recommends patch && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# postinstall applies the postgres.js fix in patches/ (see package.json).
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json bunfig.toml ./
COPY src ./src
COPY drizzle ./drizzle
RUN npx bun build src/index.ts src/db/pglite-worker.ts --compile --minify --outfile dist/chatgate

# Final stage: the binary alone (it carries its migrations and PGlite's wasm/data files).
FROM debian:bookworm-slim
# The data dir holds the database and the first admin's password file: its owner only (0700).
RUN useradd --system --uid 10001 --home-dir /data chatgate && mkdir -p /data && chown chatgate /data && chmod 0700 /data
COPY --from=build /app/dist/chatgate /usr/local/bin/chatgate
ENV HOST=0.0.0.0 PORT=8080 DATA_DIR=/data/pglite
VOLUME ["/data"]
EXPOSE 8080
USER chatgate
STOPSIGNAL SIGTERM
# The binary asks its own /readyz (database answering), so the image needs no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["/usr/local/bin/chatgate", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/chatgate"]
CMD ["serve"]
