#!/usr/bin/env bash
# A private Docker engine for the compose test (`.ci/run` uses it when no engine answers):
#   engine.sh start DIR   start dockerd with its state, socket and log under DIR; prints DOCKER_HOST=…
#   engine.sh stop DIR    leave a swarm it is in, remove every container and network it made, stop it by
#                         pid, and take back what dockerd changed on the host (docker0, docker_gwbridge,
#                         its iptables rules, ip_forward)
# The socket is DIR/docker.sock, not /var/run/docker.sock: tests that probe for an engine (testcontainers)
# never see this one by accident.
set -euo pipefail
cmd=${1:?usage: engine.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: engine.sh start|stop DIR}")
export DOCKER_HOST="unix://$dir/docker.sock"

iptables_tidy() {
  command -v iptables-save >/dev/null || return 0
  for t in filter nat; do
    # rules dockerd added to the built-in chains, then its own chains
    iptables-save -t "$t" | grep -E '^-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) .*(DOCKER|docker0|br-[0-9a-f]{12})' | sed 's/^-A //' |
      while read -r rule; do eval "iptables -t $t -D $rule" || true; done
    for c in $(iptables-save -t "$t" | sed -nE 's/^:(DOCKER[A-Z0-9_-]*) .*/\1/p'); do iptables -t "$t" -F "$c" || true; done
    for c in $(iptables-save -t "$t" | sed -nE 's/^:(DOCKER[A-Z0-9_-]*) .*/\1/p'); do iptables -t "$t" -X "$c" || true; done
  done
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    sysctl -n net.ipv4.ip_forward > "$dir/ip_forward.before"
    (iptables -S FORWARD 2>/dev/null | sed -nE 's/^-P FORWARD (.*)/\1/p' || echo ACCEPT) > "$dir/forward.before"
    setsid dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
      -H "$DOCKER_HOST" > "$dir/dockerd.log" 2>&1 < /dev/null &
    echo $! > "$dir/pid"
    for _ in $(seq 1 60); do
      if docker version --format '{{.Server.Version}}' > /dev/null 2>&1; then
        echo "DOCKER_HOST=$DOCKER_HOST"
        exit 0
      fi
      kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
      sleep 0.5
    done
    echo "engine.sh: dockerd did not come up; its log:" >&2
    tail -n 30 "$dir/dockerd.log" >&2
    exit 1
    ;;
  stop)
    [[ -f "$dir/pid" ]] || exit 0
    pid=$(cat "$dir/pid")
    if kill -0 "$pid" 2>/dev/null; then
      # a swarm the swarm test left behind (its services would start new containers)
      [[ "$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null)" == active ]] && docker swarm leave --force > /dev/null 2>&1
      ids=$(docker ps -aq 2>/dev/null || true)
      [[ -n "$ids" ]] && docker rm -f $ids > /dev/null
      docker network prune -f > /dev/null 2>&1 || true
      kill -TERM "$pid"
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    for l in $(ip -o link show 2>/dev/null | sed -nE 's/^[0-9]+: (docker0|docker_gwbridge|br-[0-9a-f]{12})[:@].*/\1/p'); do ip link delete "$l" || true; done
    iptables_tidy
    [[ -f "$dir/forward.before" ]] && iptables -P FORWARD "$(cat "$dir/forward.before")" 2>/dev/null || true
    [[ -f "$dir/ip_forward.before" ]] && sysctl -qw "net.ipv4.ip_forward=$(cat "$dir/ip_forward.before")" || true
    rm -f "$dir/pid"
    ;;
  *) echo "usage: engine.sh start|stop DIR" >&2; exit 64 ;;
esac
