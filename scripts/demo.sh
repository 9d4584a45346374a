#!/usr/bin/env bash
# make demo: a throwaway PostgreSQL with the fixture, an export to a local directory, and
# the archive's inspection. Everything it starts is stopped again on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/pgseal
users=${DEMO_USERS:-10000}
cluster=$(mktemp -d /tmp/pgseal-demo-pg.XXXXXX)
out=$PWD/.demo/archives
trap 'scripts/pgcluster.sh stop "$cluster"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

step "starting a throwaway PostgreSQL 15"
url=$(scripts/pgcluster.sh start "$cluster")
step "loading the fixture: $users users"
db=$(scripts/load-fixtures.sh "$url" kessan "$users")

step "pgseal export --profile kessan-user-data --to $out --no-encrypt"
archive=$("$bin" export --db "$db" --to "$out" --no-encrypt --no-sign --progress always)
echo "stdout: $archive"

step "checking it with standard tools: sha256sum -c, zstd -d | tar -t"
(cd "$(dirname "$archive")" && sha256sum -c "$(basename "$archive").sha256")
zstd -dc "$archive" | tar -t | sed 's/^/  /'

step "pgseal inspect $archive"
"$bin" inspect "$archive"
