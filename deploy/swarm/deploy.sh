#!/usr/bin/env bash
# Deploy (or update) the voicecall stack on a Docker Swarm: `deploy/swarm/deploy.sh [STACK]` (default
# voicecall), run on a manager node from the checkout. `docker stack deploy` interpolates ${…} from its own
# environment and never reads .env, so the .env that compose uses is exported here first (its lines are
# NAME=value with no shell quoting, so they are read as text, not sourced).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
env_file=${ENV_FILE:-$here/../../.env}
[[ -f "$env_file" ]] || { echo "deploy.sh: no $env_file (scripts/init-env.sh writes one)" >&2; exit 1; }
while IFS= read -r line; do
  [[ "$line" =~ ^([A-Z][A-Z0-9_]*)=(.*)$ ]] && export "${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
done < "$env_file"
exec docker stack deploy --prune -c "$here/stack.yml" "${1:-voicecall}"
