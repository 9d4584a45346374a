#!/usr/bin/env bash
# The snapshot's cost (docs/OPERATIONS.md, "Running against production"): dead rows that an
# export's snapshot keeps from VACUUM, a hot table of 10,000 rows updated whole throughout.
set -u
cd "$(dirname "$0")/.."
dir=$(mktemp -d /tmp/pgseal-snap.XXXXXX); chmod 755 "$dir"
url=$(scripts/pgcluster.sh start "$dir/pg"); db=${url%/*}/snap
psql "$url" -Xqc "CREATE DATABASE snap"
psql "$db" -Xq -c "CREATE TABLE first (id int PRIMARY KEY, pad text NOT NULL); INSERT INTO first SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 3000000) g; CREATE TABLE hot (id int PRIMARY KEY, v int); INSERT INTO hot SELECT g, 0 FROM generate_series(1, 10000) g; ALTER TABLE hot SET (autovacuum_enabled = off); ANALYZE;"
load() { local end=$(( $(date +%s) + $1 )); local n=0; while [ "$(date +%s)" -lt "$end" ]; do psql "$db" -Xqc "UPDATE hot SET v = v + 1"; n=$((n+1)); done; echo "$n"; }
vac() { psql "$db" -Xc "VACUUM (VERBOSE) hot" 2>&1 | grep -o "[0-9]* are dead but not yet removable" | head -1; }
# Without an export: the same load for 10 s, then VACUUM.
n=$(load 10); echo "no export: $n updates of 10,000 rows in 10 s; VACUUM: $(vac)"
rel=$(swift build -c release --show-bin-path 2>/dev/null)/pgseal; [ -x "$rel" ] || rel=$(swift build --show-bin-path)/pgseal
start=$(date +%s.%N)
"$rel" export --db "$db" --to "$dir/store" --table public.first --name snap --no-encrypt --no-sign --progress never >/dev/null 2>&1 &
pid=$!
sleep 1
n=$(load 10); echo "during an export: $n updates of 10,000 rows in 10 s; VACUUM while it runs: $(vac)"
wait $pid; end=$(date +%s.%N)
echo "export took $(echo "$end - $start" | bc) s; VACUUM after it: $(vac)"
scripts/pgcluster.sh stop "$dir/pg" >/dev/null 2>&1; rm -rf "$dir"
