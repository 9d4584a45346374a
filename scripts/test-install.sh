#!/usr/bin/env bash
# make test-install: the installed binary in a minimal Debian 12 root holding only the
# run-time packages (scripts/runtime-root.sh), run as the unprivileged user through keygen,
# an export to a local directory against a throwaway PostgreSQL, and verify --level deep.
# A run-time library missing from the list fails here, not on a production night.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "test-install: run as root (debootstrap and chroot)" >&2; exit 2; }
started=$(date +%s)
work=$(mktemp -d /tmp/pgseal-test-install.XXXXXX)
cluster=$(mktemp -d /tmp/pgseal-test-install-pg.XXXXXX)
trap 'umount "$work/root/proc" 2>/dev/null || true; scripts/pgcluster.sh stop "$cluster"; rm -rf "$work"' EXIT
root=$(scripts/runtime-root.sh "$work/root")
# As on any server or in any container: Foundation reads the arguments from /proc/self.
mount -t proc proc "$root/proc"
url=$(scripts/pgcluster.sh start "$cluster")
db=$(scripts/load-fixtures.sh "$url" kessan 500)

in_root() { chroot --userspec=pgseal:pgseal "$root" env -i HOME=/home/pgseal PATH=/usr/local/bin:/usr/bin:/bin "$@"; }
fail() { echo "test-install: FAILED: $*" >&2; exit 1; }
version=$(in_root pgseal --version)
[ "$version" = "$(sed -n 's/.*current = "\(.*\)"/\1/p' Sources/ByteStreams/Version.swift)" ] || fail "pgseal --version said: $version"
in_root pgseal keygen --out /home/pgseal/keys >/dev/null
archive=$(in_root pgseal export --profile kessan-user-data --db "$db" --to /home/pgseal/archives \
  -R /home/pgseal/keys/age-recipient.txt --sign-key /home/pgseal/keys/signing-key --progress never)
case "$archive" in /home/pgseal/archives/kessan-user-data/*.tar.zst.age) ;; *) fail "export printed: $archive" ;; esac
report=$(in_root pgseal verify "$archive" --level deep --trusted-key /home/pgseal/keys/allowed_signers -i /home/pgseal/keys/age-identity.txt)
echo "$report"
case "$report" in "verified at level deep: $archive"*) ;; *) fail "verify did not verify" ;; esac
echo "test-install: ok in $(( $(date +%s) - started )) s (packages: libpq5 libcurl4 libarchive13 libssl3 libxml2 ca-certificates)"
