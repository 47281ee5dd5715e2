# syntax=docker/dockerfile:1
# Keywallet gateway image: compile TypeScript in a build stage, ship dist/ with production deps only.

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own "prepare" would run the build before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
COPY migrations ./migrations
COPY seeds ./seeds
COPY web ./web
RUN npm run build && npm run build:web \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-slim AS runtime
# HOST: every interface inside the container, so that a published port reaches the gateway (outside a
# container the default is 127.0.0.1).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/app/data
WORKDIR /app
# Code and dependencies stay owned by root: the node user can run them but not rewrite them.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# DATA_DIR is only written on the embedded default (no DATABASE_URL), but must then be writable.
# `keywallet` on PATH runs the CLI: docker compose exec keywallet keywallet migrate
RUN mkdir -p /app/data && chown node:node /app/data \
 && printf '#!/bin/sh\nexec node /app/dist/scripts/cli.js "$@"\n' > /usr/local/bin/keywallet \
 && chmod 755 /usr/local/bin/keywallet
USER node
EXPOSE 8080
# node:20-slim has no curl or wget; Node's fetch does the probe.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--max-semi-space-size=32", "dist/src/main.js"]
