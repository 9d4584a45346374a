#!/usr/bin/env bash
# make demo: a throwaway PostgreSQL with the fixture, keys made for the demo, an encrypted and
# signed export to a local directory, checked with standard tools, inspected, and verified at
# level restore. Everything it starts is stopped again on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/pgseal
users=${DEMO_USERS:-10000}
cluster=$(mktemp -d /tmp/pgseal-demo-pg.XXXXXX)
demo=$PWD/.demo
trap 'scripts/pgcluster.sh stop "$cluster"' EXIT
rm -rf "$demo"
mkdir -p "$demo"

step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

step "starting a throwaway PostgreSQL 15"
url=$(scripts/pgcluster.sh start "$cluster")
step "loading the fixture: $users users"
db=$(scripts/load-fixtures.sh "$url" kessan "$users")

step "pgseal keygen --out $demo/keys"
"$bin" keygen --out "$demo/keys" --signer demo

step "pgseal export --to $demo/archives (encrypted to the demo recipient, seal signed)"
archive=$("$bin" export --db "$db" --to "$demo/archives" --progress always \
  --recipients-file "$demo/keys/age-recipient.txt" --sign-key "$demo/keys/signing-key")
echo "stdout: $archive"

step "checking it with standard tools: sha256sum, ssh-keygen -Y verify, age -d | zstd -d | tar -t"
dir=$(dirname "$archive")
name=$(basename "$archive")
(cd "$dir" && sha256sum -c "$name.sha256")
ssh-keygen -Y verify -f "$demo/keys/allowed_signers" -I demo -n pgseal -s "$archive.seal.sig" < "$archive.seal"
age -d -i "$demo/keys/age-identity.txt" "$archive" | zstd -d | tar -t | sed 's/^/  /'

step "pgseal inspect (no key: the seal, what an auditor sees)"
"$bin" inspect "$archive"

step "pgseal inspect --identity (the manifest)"
"$bin" inspect --identity "$demo/keys/age-identity.txt" "$archive"

step "pgseal verify --level restore (seal, every chunk and row, then a scratch database)"
"$bin" verify "$archive" --level restore --trusted-key "$demo/keys/allowed_signers" \
  --identity "$demo/keys/age-identity.txt" --scratch-db "$url"
