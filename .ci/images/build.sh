#!/usr/bin/env bash
# Builds the local stand-in images (no registry is reachable here), idempotently:
# each image carries a label with the hash of its recipe and is rebuilt only
# when that recipe changes.
#   STANDIN_PREFIX  image name prefix (default provisioner-standin; tests read it too)
#   VENDOR_DIR      folder with timescaledb-2.28.3-src.tar.xz (default ../shared/vendor
#                   next to the repository)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=${STANDIN_PREFIX:-provisioner-standin}
label=org.provisioner.recipe
vendor=${VENDOR_DIR:-$(cd "$here/../.." && pwd)/../shared/vendor}
timescaledb_src=timescaledb-2.28.3-src.tar.xz

# Files copied into a build context at build time are not part of its recipe folder.
recipe_hash() { (cd "$1" && find . -type f ! -name host-ca.crt ! -name "$timescaledb_src" -print0 | sort -z | xargs -0 sha256sum; echo "$2") | sha256sum | cut -c1-16; }
current_hash() { docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$1" 2>/dev/null || true; }

# The Debian mirror this machine's apt uses (deb822 .sources first, then sources.list):
# the URI of the entry for the release itself, not -security/-updates.
debian_mirror() {
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v RS= '
    /(^|\n)Types:[^\n]*deb([ \t]|\n|$)/ && /(^|\n)Suites:[^\n]*[ \t][a-z]+([ \t]|\n|$)/ {
      if (match($0, /(^|\n)URIs:[ \t]*[^ \t\n]+/)) {
        s = substr($0, RSTART, RLENGTH); sub(/^\n?URIs:[ \t]*/, "", s); print s; exit
      }
    }')
  if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while (i <= NF && $i !~ /\]$/) i++;
                             if ($2 ~ /^\[/) i++;
                             if ($(i + 1) !~ /-/) { print $i; exit } }' /etc/apt/sources.list)
  fi
  if [ -z "$uri" ]; then
    echo "stand-ins: no Debian mirror found in /etc/apt/sources.list.d/*.sources or" \
         "/etc/apt/sources.list (a 'deb' entry for a release such as bookworm)" >&2
    exit 1
  fi
  printf '%s\n' "$uri"
}

base="$prefix/debian:bookworm"
# The base is bookworm minbase whatever the mirror; editing this script does not change it.
base_hash=$(echo "debootstrap minbase bookworm v2" | sha256sum | cut -c1-16)
if [ "$(current_hash "$base")" != "$base_hash" ]; then
  mirror=$(debian_mirror)
  echo "stand-ins: building $base with debootstrap"
  rootfs=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | docker import --change "LABEL $label=$base_hash" --change 'CMD ["bash"]' - "$base" >/dev/null
  rm -rf "$rootfs"
fi
base_id=$(docker image inspect -f '{{.Id}}' "$base")
trap 'rm -f "$here/python/host-ca.crt" "$here/timescaledb/$timescaledb_src"' EXIT

# timescaledb builds on the postgres stand-in, clients (the cluster tests' client SDKs)
# on the python one, so each comes after its base.
for name in postgres redis rabbitmq python timescaledb clients; do
  dir="$here/$name"
  image="$prefix/$name:latest"
  args=(--build-arg "BASE=$base")
  inputs=$base_id
  if [ "$name" = timescaledb ]; then
    if [ ! -r "$vendor/$timescaledb_src" ]; then
      echo "stand-ins: $vendor/$timescaledb_src is missing (set VENDOR_DIR to its folder)" >&2
      exit 1
    fi
    pg_image="$prefix/postgres:latest"
    args=(--build-arg "PG_IMAGE=$pg_image")
    inputs="$(docker image inspect -f '{{.Id}}' "$pg_image") $(sha256sum < "$vendor/$timescaledb_src")"
  fi
  if [ "$name" = clients ]; then
    python_image="$prefix/python:latest"
    args=(--build-arg "BASE=$python_image")
    inputs=$(docker image inspect -f '{{.Id}}' "$python_image")
  fi
  want=$(recipe_hash "$dir" "$inputs")
  if [ "$(current_hash "$image")" = "$want" ]; then
    echo "stand-ins: $image is up to date"
    continue
  fi
  echo "stand-ins: building $image"
  [ "$name" = python ] && cp /etc/ssl/certs/ca-certificates.crt "$dir/host-ca.crt"
  [ "$name" = timescaledb ] && cp "$vendor/$timescaledb_src" "$dir/"
  docker build -q "${args[@]}" --label "$label=$want" -t "$image" "$dir" >/dev/null
done
