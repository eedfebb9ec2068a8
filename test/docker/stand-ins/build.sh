#!/usr/bin/env bash
# The base images the project's files name (Dockerfile: node:20-bookworm-slim; docker-compose.yml: nats:2-alpine,
# redis:7-alpine, caddy:2). Each is pulled from its registry; only when the pull fails (a machine that reaches
# Debian's archive and npm but no container registry) is a STAND-IN built under the same tag, from Debian
# bookworm packages, with the upstream image's entrypoint, user and directory conventions. Stand-ins carry the
# label org.voicecall.stand-in=<what it is> and are never built where the registry answers.
# Needs: docker (DOCKER_HOST), and debootstrap for the Debian root file system.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mirror=${DEBIAN_MIRROR:-$(sed -nE 's/^URIs: (http[^ ]*\/debian)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}

label() { docker image inspect -f '{{index .Config.Labels "org.voicecall.stand-in"}}' "$1" 2>/dev/null || true; }

debian_slim() {
  # debootstrap minbase, trimmed like the official slim image: no apt lists, docs, man pages or locales
  local root tmp
  tmp=$(mktemp -d)
  root="$tmp/rootfs"
  debootstrap --variant=minbase bookworm "$root" "$mirror" > "$tmp/debootstrap.log" 2>&1 ||
    { tail -n 20 "$tmp/debootstrap.log" >&2; rm -rf "$tmp"; return 1; }
  rm -f "$root/etc/apt/sources.list"
  cat > "$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  tar -C "$root" -c . | docker import \
    -c 'CMD ["bash"]' -c 'LABEL org.voicecall.stand-in="debootstrap minbase bookworm, slimmed"' - debian:bookworm-slim > /dev/null
  rm -rf "$tmp"
}

node_slim() {
  # the machine's own Node 20 (dynamically linked against libc/libstdc++ only) with its npm and corepack
  local ctx node prefix
  ctx=$(mktemp -d)
  node=$(readlink -f "$(command -v node)")
  prefix=$(dirname "$(dirname "$node")")
  [[ "$("$node" -p 'process.versions.node.split(".")[0]')" == 20 ]] || { echo "stand-in node:20 needs a Node 20 here" >&2; return 1; }
  cp "$node" "$ctx/node"
  cp -a "$prefix/lib/node_modules/npm" "$prefix/lib/node_modules/corepack" "$ctx/"
  cp "$here/node-entrypoint.sh" "$ctx/docker-entrypoint.sh"
  cp "$here/node.Dockerfile" "$ctx/Dockerfile"
  docker build -q --build-arg NODE_VERSION="$("$node" -p 'process.versions.node')" -t node:20-bookworm-slim "$ctx" > /dev/null
  rm -rf "$ctx"
}

from_debian() { # tag name: stand-ins/<name>.Dockerfile with its entrypoint
  local ctx
  ctx=$(mktemp -d)
  cp "$here/$2.Dockerfile" "$ctx/Dockerfile"
  cp "$here/$2-entrypoint.sh" "$ctx/docker-entrypoint.sh"
  docker build -q -t "$1" "$ctx" > /dev/null
  rm -rf "$ctx"
}

ensure() { # tag builder [args]
  local tag=$1
  shift
  if timeout 60 docker pull -q "$tag" > /dev/null 2>&1; then
    echo "base image $tag: pulled from the registry"
    return
  fi
  if [[ -n "$(label "$tag")" ]]; then
    echo "base image $tag: no registry; stand-in already built ($(label "$tag"))"
    return
  fi
  if docker image inspect "$tag" > /dev/null 2>&1; then
    echo "base image $tag: no registry; the real image is cached"
    return
  fi
  local t0=$SECONDS
  [[ "$tag" == debian:* ]] || ensure debian:bookworm-slim debian_slim
  "$@"
  echo "base image $tag: no registry; built a STAND-IN ($(label "$tag")) in $((SECONDS - t0)) s"
}

ensure node:20-bookworm-slim node_slim
ensure nats:2-alpine from_debian nats:2-alpine nats
ensure redis:7-alpine from_debian redis:7-alpine redis
ensure caddy:2 from_debian caddy:2 caddy
