#!/usr/bin/env python3
"""pgseal verify against what a user would otherwise run, side by side in one run on the
1M-user archive: --level deep against `age -d | zstd -d | sha256sum` of the same object, and
--level restore against loading the same rows with psql \\copy … from (into tables with the
same columns, keys added after) plus that pipeline. Median of ROUNDS, peak RSS.

    benchmarks/verify_vs_pipeline.py [--users 1000000] [--rounds 3]"""
import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_vs_pg_dump import PGSEAL, fixture_cluster, sealed_archive, timed  # noqa: E402

TABLES = {
    "users": ("id uuid, email text, email_verified boolean, created_at timestamptz, updated_at timestamptz, is_active boolean",
              "SELECT id, email, email_verified, created_at, updated_at, is_active FROM users WHERE is_active", "id"),
    "user_profiles": ("user_id uuid, display_name text, timezone text, notification_preferences jsonb, created_at timestamptz, updated_at timestamptz",
                      "SELECT user_id, display_name, timezone, notification_preferences, created_at, updated_at FROM user_profiles", "user_id"),
    "user_watchlist": ("user_id uuid, ticker text, notes text, added_at timestamptz",
                       "SELECT user_id, ticker, notes, added_at FROM user_watchlist", "user_id, ticker"),
    "user_subscriptions": ("id bigint, user_id uuid, plan_id text, status text, current_period_start timestamptz, current_period_end timestamptz, created_at timestamptz",
                           "SELECT id, user_id, plan_id, status, current_period_start, current_period_end, created_at FROM user_subscriptions WHERE status = 'active'", "id"),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with fixture_cluster(args.users) as (url, db, scratch):
        keys, archive = sealed_archive(db, scratch)
        for name, (_, select, _) in TABLES.items():
            subprocess.run(["psql", db, "-qX", "-c", f"\\copy ({select}) TO '{scratch}/{name}.copy'"], check=True)

        pipeline = f"age -d -i {keys}/age-identity.txt {archive} | zstd -d | sha256sum > /dev/null"
        load_script = " ".join(
            f"-c \"CREATE TABLE {name} ({columns})\" -c \"\\copy {name} FROM '{scratch}/{name}.copy'\" -c \"ALTER TABLE {name} ADD PRIMARY KEY ({key})\""
            for name, (columns, _, key) in TABLES.items())
        counter = {"n": 0}

        def copy_and_pipeline():
            counter["n"] += 1
            target = f"copyload{counter['n']}"
            subprocess.run(["psql", url, "-qXc", f"CREATE DATABASE {target}"], check=True)
            base = url.rsplit("/", 1)[0] + "/" + target
            return timed(f"psql '{base}' -qX -v ON_ERROR_STOP=1 {load_script} && {pipeline}", shell=True)

        verify = [PGSEAL, "verify", archive, "--trusted-key", keys + "/allowed_signers", "-i", keys + "/age-identity.txt"]
        variants = {
            "age -d | zstd -d | sha256sum": lambda: timed(pipeline, shell=True),
            "pgseal verify --level deep": lambda: timed(verify + ["--level", "deep"]),
            "psql \\copy from + keys, and age -d | zstd -d | sha256sum": copy_and_pipeline,
            "pgseal verify --level restore": lambda: timed(verify + ["--level", "restore", "--scratch-db", url]),
        }
        results = {name: [] for name in variants}
        for round_number in range(args.rounds):
            for name, run in variants.items():
                results[name].append(run())
            print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)
        medians = {name: statistics.median(w for w, _ in samples) for name, samples in results.items()}
        print(f"\n{args.users:,} users, {args.rounds} rounds, median wall time\n")
        print("| command | wall (s) | ratio | peak RSS (MiB) |")
        print("|---|---:|---:|---:|")
        for name, samples in results.items():
            peer = medians["age -d | zstd -d | sha256sum"] if "deep" in name or name.startswith("age") else medians["psql \\copy from + keys, and age -d | zstd -d | sha256sum"]
            label = name.replace("|", "\\|")
            print(f"| {label} | {medians[name]:.2f} | {medians[name] / peer:.2f}x | {max(r for _, r in samples):.0f} |")


if __name__ == "__main__":
    main()
