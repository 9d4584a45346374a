#!/usr/bin/env bash
# make bench: every benchmark, side by side with the tools users would otherwise run.
set -euo pipefail
cd "$(dirname "$0")/.."
benchmarks/age_throughput.py
benchmarks/export_vs_pg_dump.py "$@"
benchmarks/chunk_size.py
benchmarks/verify_vs_pipeline.py
