#!/bin/sh
# Container entry point: run one service (SERVICE=gateway|media|tts|agent) with tsx, as PID 1's child
# (tini forwards SIGTERM). Extra arguments replace the command, e.g. `docker run IMAGE sh`.
set -eu
if [ "$#" -gt 0 ]; then exec "$@"; fi
case "${SERVICE:-}" in
  gateway|media|tts|agent) ;;
  *) echo "SERVICE must be one of gateway, media, tts, agent (got '${SERVICE:-}')" >&2; exit 64 ;;
esac
exec node --import tsx "services/${SERVICE}/src/main.ts"
