# syntax=docker/dockerfile:1
# One image for every voicecall service; compose picks the service with SERVICE (gateway|media|tts|agent).
# TypeScript runs as-is through tsx (a runtime dependency): there is no build step.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- base: runtime OS packages -----------------------------------------------------------------
FROM ${NODE_IMAGE} AS base
# espeak-ng, flite: local TTS (tts). pocketsphinx + en-us model: offline STT (media).
# tini: PID 1 that forwards SIGTERM and reaps children (graceful shutdown).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates tini espeak-ng flite pocketsphinx pocketsphinx-en-us \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app

# --- manifests: only package.json files (and workspace bin scripts, which npm links), so the npm
# layer is cached until dependencies change ---
FROM base AS manifests
COPY . /src
RUN cd /src \
 && find . -type f ! -name package.json ! -name package-lock.json ! -name .npmrc ! -path './libs/*/bin/*' -delete \
 && find . -depth -type d -empty -delete

# --- deps: production dependencies (tsx included) ------------------------------------------------
FROM base AS deps
COPY --from=manifests /src/ /app/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime -----------------------------------------------------------------------------------
FROM base AS runtime
# node_modules/.bin on PATH: `docker compose exec gateway voicecall doctor` (the ops CLI) works.
ENV NODE_ENV=production \
    SERVICE=gateway \
    PATH=/app/node_modules/.bin:$PATH
COPY --from=deps /app/node_modules /app/node_modules
COPY --chown=root:root . /app
# Run as the unprivileged `node` user (uid 1000) from the base image; the code stays root-owned.
USER node
EXPOSE 3000 8080 8081 8082
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=10 \
  CMD ["node", "scripts/healthcheck.mjs"]
ENTRYPOINT ["/usr/bin/tini", "--", "scripts/docker-entry.sh"]
