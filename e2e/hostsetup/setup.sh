#!/usr/bin/env bash
# Host preparation for the e2e suite (kind + docker), idempotent, run as root.
#
#   e2e/hostsetup/setup.sh
#
# 1. apt packages the node-image tooling needs (only those missing):
#    docker.io (engine), debootstrap (node rootfs), busybox-static (tiny image
#    roots), jq, gcc + libc6-dev (static `pause`).
# 2. builds e2e/tools/runc-capfix and makes it dockerd's default runtime: these
#    machines lack CAP_SYS_RESOURCE in the bounding set, so plain runc cannot
#    start privileged containers (kind nodes) without it.
# 3. starts dockerd (setsid, log under the cache dir) or SIGHUPs a running one so
#    it reloads daemon.json (runtimes/default-runtime are live-reloadable).
# 4. mkdir /lib/modules: kind bind-mounts it into every node.
#
# Cache: ${PULLSECRET_CACHE:-$HOME/.cache/pullsecret}
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "setup.sh: must run as root" >&2
  exit 1
fi

repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${PULLSECRET_CACHE:-$HOME/.cache/pullsecret}
mkdir -p "$cache/bin" "$cache/log"
log() { echo "hostsetup: $*" >&2; }

# --- 1. packages -------------------------------------------------------------
missing=()
for p in docker.io debootstrap busybox-static jq gcc libc6-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- 2. runc wrapper -----------------------------------------------------------
wrapper=/usr/local/bin/runc-capfix
mkdir -p "$cache/bin/runc-capfix"
GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
  go -C "$repo/e2e/tools/runc-capfix" build -trimpath -ldflags "-s -w" -o "$cache/bin/runc-capfix/runc-capfix" .
if ! cmp -s "$cache/bin/runc-capfix/runc-capfix" "$wrapper"; then
  # install(1) writes a new inode, so a running runc-capfix is never overwritten in place
  install -m 0755 "$cache/bin/runc-capfix/runc-capfix" "$wrapper"
  log "installed $wrapper"
fi

# --- daemon.json: keep whatever else is configured, set our runtime as default --
mkdir -p /etc/docker
current=/etc/docker/daemon.json
[ -s "$current" ] || echo '{}' > "$current"
want=$(jq --arg p "$wrapper" '.runtimes["runc-capfix"] = {path: $p} | .["default-runtime"] = "runc-capfix"' "$current")
if [ "$want" != "$(jq . "$current")" ]; then
  printf '%s\n' "$want" > "$current"
  log "wrote $current"
fi

# --- 3. dockerd -------------------------------------------------------------------
wait_docker() {
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "setup.sh: dockerd not answering after 60s, see $cache/log/dockerd.log" >&2
  return 1
}
if pid=$(pidof dockerd); then
  if [ "$(docker info --format '{{.DefaultRuntime}}' 2>/dev/null)" != runc-capfix ]; then
    # shellcheck disable=SC2086 # pidof may print several pids
    kill -HUP $pid
    log "reloaded dockerd ($pid)"
  fi
else
  log "starting dockerd (log: $cache/log/dockerd.log)"
  setsid dockerd >>"$cache/log/dockerd.log" 2>&1 </dev/null &
fi
wait_docker
for _ in $(seq 1 10); do # SIGHUP reload is asynchronous
  [ "$(docker info --format '{{.DefaultRuntime}}')" = runc-capfix ] && break
  sleep 1
done
rt=$(docker info --format '{{.DefaultRuntime}}')
if [ "$rt" != runc-capfix ]; then
  echo "setup.sh: dockerd default runtime is $rt, expected runc-capfix" >&2
  exit 1
fi

# --- 4. kind bind-mounts /lib/modules (absent on this VM kernel) -------------------
mkdir -p /lib/modules

log "ok (docker $(docker version --format '{{.Server.Version}}'), default runtime $rt)"
