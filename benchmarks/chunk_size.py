#!/usr/bin/env python3
"""How the chunk size affects the export: wall time, peak RSS and archive size for the
1M-user fixture at several --chunk-size values, 3 rounds each, median. This is the measurement
behind the default of 2 MiB.

    benchmarks/chunk_size.py [--users 1000000] [--rounds 3]"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_vs_pg_dump import export, fixture_cluster  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with fixture_cluster(args.users) as (_, db, scratch):
        print(f"\n{args.users:,} users, --jobs 2, zstd -3, {args.rounds} rounds, median\n")
        print("| --chunk-size (MiB) | wall (s) | peak RSS (MiB) | archive (MiB) |")
        print("|---:|---:|---:|---:|")
        for size in [1, 2, 4, 8, 32]:
            samples = [export(db, f"{scratch}/c{size}", "--jobs", "2", "--chunk-size", str(size)) for _ in range(args.rounds)]
            archive = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(f"{scratch}/c{size}") for f in fs if f.endswith(".zst"))
            print(f"| {size} | {statistics.median(w for w, _ in samples):.2f} | {max(r for _, r in samples):.0f} | {archive / (1 << 20):.1f} |")


if __name__ == "__main__":
    main()
