#!/usr/bin/env bash
# make image: the run-time root as a tar, then the image `pgseal:<version>` from Containerfile
# with podman (Debian's, installed when missing; it builds without a daemon), or docker where
# podman cannot run; otherwise says where the tar is for a builder elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "image: run as root (debootstrap)" >&2; exit 2; }
command -v podman >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman >/dev/null 2>&1 \
  || echo "image: podman could not be installed; trying docker" >&2
out=.build-image
rm -rf "$out" && mkdir -p "$out"
root=$(scripts/runtime-root.sh "$out/root")
tar -C "$root" -cf "$out/pgseal-runtime-root.tar" .
rm -rf "$root"
cp Containerfile "$out/"
version=$("$(${SWIFT:-swift} build -c release --static-swift-stdlib --scratch-path .build-static --show-bin-path)/pgseal" --version)
for builder in podman docker; do
  if command -v "$builder" >/dev/null && "$builder" info >/dev/null 2>&1; then
    "$builder" build -t "pgseal:$version" -f "$out/Containerfile" "$out"
    echo "image pgseal:$version built with $builder"
    exit 0
  fi
done
echo "no container builder here: $out holds Containerfile and pgseal-runtime-root.tar; build with"
echo "  podman build -t pgseal:$version $out      (or docker build)"
