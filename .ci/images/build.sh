#!/usr/bin/env bash
# Builds the local stand-in images (no registry is reachable here), idempotently:
# each image carries a label with the hash of its recipe and is rebuilt only
# when that recipe changes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=provisioner-standin
label=org.provisioner.recipe

recipe_hash() { (cd "$1" && find . -type f ! -name host-ca.crt -print0 | sort -z | xargs -0 sha256sum; echo "$2") | sha256sum | cut -c1-16; }
current_hash() { docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$1" 2>/dev/null || true; }

base="$prefix/debian:bookworm"
base_hash=$( (cat "$0"; echo bookworm-minbase) | sha256sum | cut -c1-16)
if [ "$(current_hash "$base")" != "$base_hash" ]; then
  echo "stand-ins: building $base with debootstrap"
  rootfs=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | docker import --change "LABEL $label=$base_hash" --change 'CMD ["bash"]' - "$base" >/dev/null
  rm -rf "$rootfs"
fi
base_id=$(docker image inspect -f '{{.Id}}' "$base")

for name in postgres redis rabbitmq python; do
  dir="$here/$name"
  image="$prefix/$name:latest"
  want=$(recipe_hash "$dir" "$base_id")
  if [ "$(current_hash "$image")" = "$want" ]; then
    echo "stand-ins: $image is up to date"
    continue
  fi
  echo "stand-ins: building $image"
  [ "$name" = python ] && cp /etc/ssl/certs/ca-certificates.crt "$dir/host-ca.crt"
  docker build -q --build-arg "BASE=$base" --label "$label=$want" -t "$image" "$dir" >/dev/null
  rm -f "$dir/host-ca.crt"
done
