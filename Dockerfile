# One image for every voicecall service; compose picks the service with SERVICE (gateway|media|tts|agent).
# TypeScript runs as-is through tsx (a runtime dependency): there is no build step.
# No `# syntax=` line and nothing BuildKit-only: the classic builder (compose v1) builds it, and BuildKit needs
# no frontend image from Docker Hub (fails offline or behind a mirror).
#
# Build arguments (`docker compose build --build-arg NAME=value`):
#   NODE_IMAGE     the Node 20 base, e.g. a registry mirror's copy: mirror.example.com/library/node:20-bookworm-slim
#   NPM_REGISTRY   npm registry (mirror) for `npm ci`, e.g. https://npm.example.com/
#   EXTRA_CA_CERT  PEM text of extra CA certificates npm must trust (a TLS-intercepting proxy):
#                  --build-arg EXTRA_CA_CERT="$(cat proxy-ca.pem)"; used for `npm ci` only, not kept in the image
#   SILERO=true    keep onnxruntime-web (+139 MB) for VAD_PROVIDER=silero; the default image leaves it out

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
ARG NPM_REGISTRY=""
ARG EXTRA_CA_CERT=""
ARG SILERO=false
COPY --from=manifests /src/ /app/
# Node trusts its own CA list plus NODE_EXTRA_CA_CERTS; the extra CA lives in this layer's /tmp only.
RUN if [ -n "$EXTRA_CA_CERT" ]; then printf '%s\n' "$EXTRA_CA_CERT" > /tmp/extra-ca.pem; export NODE_EXTRA_CA_CERTS=/tmp/extra-ca.pem; fi \
 && npm ci --omit=dev --no-audit --no-fund ${NPM_REGISTRY:+--registry "$NPM_REGISTRY"} \
 && npm cache clean --force && rm -f /tmp/extra-ca.pem \
 && if [ "$SILERO" != true ]; then rm -rf node_modules/onnxruntime-web node_modules/onnxruntime-common node_modules/@ricky0123/vad-web; fi

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
# start-period 300 s: on a loaded 2-core machine start-up took up to 3.5 min (20 s + 10 retries allowed 70 s),
# and compose then refuses to start Caddy; failures in the start period do not count, a pass counts at once.
# timeout 10 s: starting node for the check alone took over 3 s there.
# No EXPOSE: one image runs four services on different ports; compose's `expose:` gives each container its own.
HEALTHCHECK --interval=5s --timeout=10s --start-period=300s --retries=10 \
  CMD ["node", "scripts/healthcheck.mjs"]
ENTRYPOINT ["/usr/bin/tini", "--", "scripts/docker-entry.sh"]
