#!/usr/bin/env bash
# The run-time root of a server, and of the container image: Debian 12 minbase, only the
# packages pgseal needs to run (README, "Install on a server"), pgseal installed under
# /usr/local, and an unprivileged user `pgseal`.
#   runtime-root.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:?usage: runtime-root.sh DIR}
runtime_packages=libpq5,libcurl4,libarchive13,libssl3,libxml2,ca-certificates
command -v debootstrap >/dev/null || {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}
debootstrap --variant=minbase --include="$runtime_packages" bookworm "$root" http://deb.debian.org/debian >/tmp/pgseal-debootstrap.log 2>&1 \
  || { tail -n 20 /tmp/pgseal-debootstrap.log >&2; exit 2; }
scripts/install.sh "$root/usr/local" >/dev/null
chroot "$root" useradd --system --create-home --home-dir /home/pgseal --shell /usr/sbin/nologin pgseal
rm -rf "$root/var/cache/apt/archives"/*.deb "$root/var/lib/apt/lists"/*
echo "$root"
