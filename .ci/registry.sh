#!/usr/bin/env bash
# A real image registry for the pull tests (Debian's docker-registry, the CNCF
# distribution registry 2.8) on 127.0.0.1:$REGISTRY_PORT, holding the stand-ins
# under the real images' names and tags. Idempotent: starts the registry only when
# it does not answer, pushes an image only when the registry's copy differs.
# 127.0.0.0/8 is an insecure registry for dockerd by default: plain HTTP is fine.
set -euo pipefail
port="${REGISTRY_PORT:-5001}"
root="${REGISTRY_ROOT:-/var/lib/provisioner-registry}"
registry="127.0.0.1:$port"
mkdir -p "$root/storage"

answers() { python3 - "$registry" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://{sys.argv[1]}/v2/", timeout=1).read()
except Exception:
    sys.exit(1)
PY
}

if ! answers; then
  cat >"$root/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $root/storage
  delete:
    enabled: true
http:
  addr: $registry
YAML
  if [ -f "$root/registry.pid" ] && kill -0 "$(cat "$root/registry.pid")" 2>/dev/null; then
    kill "$(cat "$root/registry.pid")" || true  # ours, but not answering: start afresh
  fi
  echo "setup: starting the image registry on $registry"
  nohup docker-registry serve "$root/config.yml" >"$root/registry.log" 2>&1 &
  echo $! >"$root/registry.pid"
  for _ in $(seq 1 60); do answers && break; sleep 0.25; done
  if ! answers; then
    echo "setup: the registry did not start; its log:" >&2
    tail -n 20 "$root/registry.log" >&2
    exit 1
  fi
fi

# The TimescaleDB stand-in when one was built, else the PostgreSQL one.
timescale=provisioner-standin/timescaledb:latest
docker image inspect "$timescale" >/dev/null 2>&1 || timescale=provisioner-standin/postgres:latest

push() {  # push() LOCAL REMOTE: tag and push when the registry lacks this image id
  local src="$1" dst="$registry/$2" id
  id=$(docker image inspect -f '{{.Id}}' "$src")
  if [ "$(docker image inspect -f '{{.Id}}' "$dst" 2>/dev/null || true)" = "$id" ] &&
     [ -f "$root/pushed/$(echo "$2" | tr '/:' '__')" ] &&
     [ "$(cat "$root/pushed/$(echo "$2" | tr '/:' '__')")" = "$id" ]; then
    return
  fi
  echo "setup: pushing $src as $dst"
  docker tag "$src" "$dst"
  docker push -q "$dst" >/dev/null
  mkdir -p "$root/pushed"
  echo "$id" >"$root/pushed/$(echo "$2" | tr '/:' '__')"
}
push "$timescale" timescale/timescaledb:latest-pg15
push provisioner-standin/redis:latest redis:7-alpine
push provisioner-standin/rabbitmq:latest rabbitmq:3.12-management-alpine
push provisioner-standin/python:latest python:3.11-slim
