#!/usr/bin/env bash
# The checks a run-time root must pass (make test-install, make test-image): pgseal run as the
# unprivileged user `pgseal` inside ROOT through keygen, an export to a local directory against
# a throwaway PostgreSQL, and verify --level deep. A run-time library missing from the root
# fails here, not on a production night.
#   test-root.sh ROOT LABEL
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:?usage: test-root.sh ROOT LABEL}
label=${2:?usage: test-root.sh ROOT LABEL}
[ "$(id -u)" -eq 0 ] || { echo "$label: run as root (chroot)" >&2; exit 2; }
started=$(date +%s)
cluster=$(mktemp -d /tmp/pgseal-$label-pg.XXXXXX)
# As on any server or in any container: Foundation reads the arguments from /proc/self.
mkdir -p "$root/proc"
mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true; scripts/pgcluster.sh stop "$cluster"' EXIT
url=$(scripts/pgcluster.sh start "$cluster")
db=$(scripts/load-fixtures.sh "$url" kessan 500)

in_root() { chroot --userspec=pgseal:pgseal "$root" env -i HOME=/home/pgseal PATH=/usr/local/bin:/usr/bin:/bin "$@"; }
fail() { echo "$label: FAILED: $*" >&2; exit 1; }
version=$(in_root pgseal --version)
[ "$version" = "$(sed -n 's/.*current = "\(.*\)"/\1/p' Sources/ArchiveFormat/ToolVersion.swift)" ] || fail "pgseal --version said: $version"
in_root pgseal keygen --out /home/pgseal/keys >/dev/null
archive=$(in_root pgseal export --profile kessan-user-data --db "$db" --to /home/pgseal/archives \
  -R /home/pgseal/keys/age-recipient.txt --sign-key /home/pgseal/keys/signing-key --progress never)
case "$archive" in /home/pgseal/archives/kessan-user-data/*.tar.zst.age) ;; *) fail "export printed: $archive" ;; esac
report=$(in_root pgseal verify "$archive" --level deep --trusted-key /home/pgseal/keys/allowed_signers -i /home/pgseal/keys/age-identity.txt)
echo "$report"
case "$report" in "verified at level deep: $archive"*) ;; *) fail "verify did not verify" ;; esac
echo "$label: ok in $(( $(date +%s) - started )) s (packages: libpq5 libcurl4 libarchive13 libssl3 libxml2 ca-certificates)"
