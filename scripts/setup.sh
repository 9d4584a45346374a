#!/usr/bin/env bash
# Installs what pgseal needs on Debian 12, idempotently and quietly: only what is missing.
set -euo pipefail

apt_packages=(
  pkg-config libpq-dev libcurl4-openssl-dev libarchive-dev libssl-dev
  postgresql-15 postgresql-client-15 zstd age openssh-client tar python3 python3-pip
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's postgresql package starts a cluster of its own; pgseal's tests run their own.
fi

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  echo "setup: swift is at /opt/swift/usr/bin; add it to PATH" >&2
fi
