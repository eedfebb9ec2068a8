#!/bin/sh
# as upstream's: arguments that start with '-' are options of nats-server
set -e
if [ "${1#-}" != "$1" ]; then set -- nats-server "$@"; fi
exec "$@"
