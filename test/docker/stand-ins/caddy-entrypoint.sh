#!/bin/sh
# Caddy 2.6.2 refuses stream_close_delay (Caddy >= 2.7, what caddy:2 ships): run a copy of the mounted
# Caddyfile without it, and say so. Everything else in the file is used as written.
set -e
if [ "$1" = caddy ] && [ "$2" = run ]; then
  for a in "$@"; do
    if [ "${prev:-}" = --config ] && grep -q 'stream_close_delay' "$a"; then
      sed '/^[[:space:]]*stream_close_delay/d' "$a" > /tmp/Caddyfile
      echo "caddy stand-in (2.6.2): running $a without stream_close_delay (needs >= 2.7)" >&2
      set -- caddy run --config /tmp/Caddyfile --adapter caddyfile
      break
    fi
    prev=$a
  done
fi
exec "$@"
