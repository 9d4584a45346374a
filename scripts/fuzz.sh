#!/usr/bin/env bash
# make fuzz: runs every fuzz target of Tests/EndToEndTests/FuzzTests.swift for FUZZ_SECONDS
# (default 60) each, against the test run's own PostgreSQL, with a random seed. An input that
# kills the test process is kept in Tests/EndToEndTests/FuzzRegressions/ (replayed by every
# `make test` from then on) and the run fails.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
seconds=${FUZZ_SECONDS:-60}
seed=${FUZZ_SEED:-$RANDOM$RANDOM}
crashes=$(mktemp -d)
swift build --build-tests >/dev/null || exit 2
echo "fuzz: $seconds s per target, seed $seed" >&2
PGSEAL_BIN="$(swift build --show-bin-path)/pgseal" PGSEAL_FUZZ_SECONDS=$seconds PGSEAL_FUZZ_SEED=$seed PGSEAL_FUZZ_CRASH_DIR=$crashes \
  swift test --skip-build --filter FuzzTests 2>&1 | tee /tmp/pgseal-fuzz.log | grep -E "^fuzz|error:|Executed 1 test"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ] && [ -d "$crashes" ] && [ -n "$(ls -A "$crashes")" ]; then
  last=$(ls -t "$crashes" | head -1)
  name="$last-$(sha256sum "$crashes/$last" | cut -c1-16)"
  cp "$crashes/$last" "Tests/EndToEndTests/FuzzRegressions/$name"
  echo "fuzz: target $last crashed or hung (seed $seed); the input is Tests/EndToEndTests/FuzzRegressions/$name — make it a fixed regression" >&2
fi
rm -rf "$crashes"
exit "$status"
