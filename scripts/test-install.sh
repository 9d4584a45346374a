#!/usr/bin/env bash
# make test-install: the installed binary in a minimal Debian 12 root holding only the
# run-time packages (scripts/runtime-root.sh), put through scripts/test-root.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "test-install: run as root (debootstrap and chroot)" >&2; exit 2; }
work=$(mktemp -d /tmp/pgseal-test-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$(scripts/runtime-root.sh "$work/root")
scripts/test-root.sh "$root" test-install
