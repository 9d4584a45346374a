#!/usr/bin/env bash
# make demo: a throwaway PostgreSQL with the fixture, keys made for the demo, an encrypted and
# signed export to a local directory, checked with standard tools, inspected, and verified at
# level restore, recorded as a signed attestation; then the same export to a local S3 server
# (moto, checking every SigV4 signature), replicated to a second bucket and checked by the
# monitor (DEMO_S3=0 skips it); last, the series checked and the auditors' report written.
# Everything it starts is stopped again on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/pgseal
users=${DEMO_USERS:-10000}
cluster=$(mktemp -d /tmp/pgseal-demo-pg.XXXXXX)
demo=$PWD/.demo
s3dir=$(mktemp -d /tmp/pgseal-demo-s3.XXXXXX)
trap 'scripts/pgcluster.sh stop "$cluster"; scripts/s3server.sh stop "$s3dir"' EXIT
rm -rf "$demo"
mkdir -p "$demo"

step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
# Every pgseal command is printed in full before it runs, as it could be typed.
pgseal() { printf '\033[2m$ pgseal%s\033[0m\n' "$(printf ' %q' "$@")" >&2; "$PWD/$bin" "$@"; }
shown() { printf '\033[2m$%s\033[0m\n' "$(printf ' %q' "$@")" >&2; "$@"; }

step "starting a throwaway PostgreSQL 15"
url=$(scripts/pgcluster.sh start "$cluster")
step "loading the fixture: $users users"
db=$(scripts/load-fixtures.sh "$url" kessan "$users")

step "pgseal keygen --out $demo/keys, and a verifier's keys for recording verifications"
pgseal keygen --out "$demo/keys" --signer demo
pgseal keygen --out "$demo/verifier" --signer drill@demo --verifier

step "pgseal export --profile kessan-user-data --to $demo/archives (encrypted to the demo recipient, seal signed)"
archive=$(pgseal export --profile kessan-user-data --db "$db" --to "$demo/archives" --progress always \
  --recipients-file "$demo/keys/age-recipient.txt" --sign-key "$demo/keys/signing-key")
echo "stdout: $archive"

step "checking it with standard tools: sha256sum, ssh-keygen -Y verify, age -d | zstd -d | tar -t"
dir=$(dirname "$archive")
name=$(basename "$archive")
(cd "$dir" && shown sha256sum -c "$name.sha256")
shown ssh-keygen -Y verify -f "$demo/keys/allowed_signers" -I demo -n pgseal -s "$archive.seal.sig" < "$archive.seal"
age -d -i "$demo/keys/age-identity.txt" "$archive" | zstd -d | tar -t | sed 's/^/  /'

step "pgseal inspect (no key: the seal, what an auditor sees)"
pgseal inspect "$archive" --trusted-key "$demo/keys/allowed_signers"

step "pgseal inspect --identity (the manifest)"
pgseal inspect --identity "$demo/keys/age-identity.txt" "$archive" --trusted-key "$demo/keys/allowed_signers"

step "pgseal verify --level restore (seal, every chunk and row, then a scratch database), recorded"
pgseal verify "$archive" --level restore --trusted-key "$demo/keys/allowed_signers" \
  --identity "$demo/keys/age-identity.txt" --scratch-db "$url" --attest-key "$demo/verifier/signing-key"

if [ "${DEMO_S3:-1}" != 0 ]; then
step "a local S3 server that checks every SigV4 signature (moto), buckets demo and demo-dr"
read -r endpoint key secret < <(scripts/s3server.sh start "$s3dir")
export PGSEAL_S3_ENDPOINT=$endpoint AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
python3 -c 'import boto3, os; c = boto3.client("s3", endpoint_url=os.environ["PGSEAL_S3_ENDPOINT"]); [c.create_bucket(Bucket=b) for b in ("demo", "demo-dr")]'

step "pgseal export --profile kessan-user-data --to s3://demo/pgseal/ (parts, or one PUT when small; Content-MD5, SHA-256 and ETag checked)"
s3archive=$(pgseal export --profile kessan-user-data --db "$db" --to s3://demo/pgseal/ --progress never \
  --recipients-file "$demo/keys/age-recipient.txt" --sign-key "$demo/keys/signing-key")
echo "stdout: $s3archive"

step "pgseal replicate to s3://demo-dr/pgseal/ (server-side copy, proven against the seal)"
pgseal replicate "$s3archive" --to s3://demo-dr/pgseal/ --trusted-key "$demo/keys/allowed_signers"

step "pgseal check s3://demo-dr/pgseal/ (the monitor: fresh and verified)"
pgseal check s3://demo-dr/pgseal/ --max-age 26h --trusted-key "$demo/keys/allowed_signers" --metrics-file "$demo/pgseal.prom"
sed 's/^/  /' "$demo/pgseal.prom" | grep -v '^  #'
fi

step "pgseal chain and pgseal report (the series, and the auditors' evidence: seals and attestations only)"
pgseal chain "$demo/archives" --trusted-key "$demo/keys/allowed_signers"
pgseal report "$demo/archives" --trusted-key "$demo/keys/allowed_signers" --trusted-verifier "$demo/verifier/allowed_signers" \
  --html "$demo/evidence.html" --report "$demo/evidence.json"
echo "The auditors' report: $demo/evidence.html (open it in a browser; it prints to PDF), its facts as JSON: $demo/evidence.json"

step "next steps"
cat >&2 <<NEXT
  Your own tables, without YAML:   pgseal export --table orders --table customers --exclude-column customers.password_hash
                                     --db postgres://… --to /var/backups/pgseal -R age-recipient.txt --sign-key signing-key
  A profile from your catalog:     pgseal config init --db postgres://… -o pgseal.yaml && pgseal config check --config pgseal.yaml
  The newest archive, anywhere:    pgseal verify s3://bucket/pgseal/ --latest --profile P --trusted-key allowed_signers
  Nightly job, monitor, retention: docs/OPERATIONS.md    Auditors: docs/AUDITORS.md    After a restore: docs/POST-RESTORE.md
  The restore drill, monitored:    pgseal check STORE --max-age 26h --require-restore-verified-within 35d --trusted-verifier verifier/allowed_signers
  Too big for one export:          pgseal export … --partitions 8 (workers here, or a Kubernetes Indexed Job: docs/OPERATIONS.md §12)
  The demo's files:                $demo (keys, archives, evidence.html)
NEXT
