#!/usr/bin/env bash
# make bench: every benchmark, side by side with the tools users would otherwise run.
set -euo pipefail
cd "$(dirname "$0")/.."
# The peers of the diff and S3 benchmarks, from PyPI.
python3 -c "import reladiff, psycopg2" 2>/dev/null || python3 -m pip install --quiet reladiff psycopg2-binary
command -v aws >/dev/null 2>&1 || python3 -m pip install --quiet awscli
benchmarks/age_throughput.py
benchmarks/export_vs_pg_dump.py "$@"
benchmarks/export_pinned.py
benchmarks/chunk_size.py
benchmarks/verify_vs_pipeline.py
benchmarks/diff_vs_reladiff.py
benchmarks/diff_key_types.py
benchmarks/s3_upload.py
benchmarks/report_scale.py
benchmarks/follow_vs_recvlogical.py
# At 10M users (its default) this one takes about 25 min; the figures in README.md are from that.
benchmarks/partitioned_export.py --users 1000000
