#!/usr/bin/env python3
"""Uploads to S3, side by side in one run against the same local S3 server (moto with IAM auth,
scripts/s3server.sh): the same 1 GiB object with `aws s3 cp` and with `pgseal encrypt -o s3://…`
(which also encrypts it), and the 1M-user export to S3 against the same export to a local
directory. Median of ROUNDS; peak RSS.

    benchmarks/s3_upload.py [--size-mib 1024] [--users 1000000] [--rounds 3]
moto keeps objects in memory and re-reads them for every request: it, not the clients, bounds
these figures; the ratios are what they compare."""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_vs_pg_dump import PGSEAL, ROOT, export, fixture_cluster, timed  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    s3dir = tempfile.mkdtemp(prefix="pgseal-bench-s3.")
    endpoint, access, secret = subprocess.run([os.path.join(ROOT, "scripts", "s3server.sh"), "start", s3dir],
                                              check=True, capture_output=True, text=True).stdout.split()
    env = dict(os.environ, AWS_ACCESS_KEY_ID=access, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
               AWS_DEFAULT_REGION="us-east-1", PGSEAL_S3_ENDPOINT=endpoint)
    os.environ.update(env)
    try:
        subprocess.run(["aws", "--endpoint-url", endpoint, "s3", "mb", "s3://bench"], check=True, stdout=subprocess.DEVNULL)
        with fixture_cluster(args.users) as (_, db, scratch):
            plain = scratch + "/plain"
            with open(plain, "wb") as f:
                for _ in range(args.size_mib):
                    f.write(os.urandom(1 << 20))
            subprocess.run([PGSEAL, "keygen", "--out", scratch + "/keys"], check=True, stdout=subprocess.DEVNULL)
            recipient = open(scratch + "/keys/age-recipient.txt").read().strip()
            counter = {"n": 0}

            def next_key():
                counter["n"] += 1
                return f"s3://bench/o{counter['n']}"

            def uploaded(command, extra_env=None):
                # moto keeps every object in memory: each is deleted again so that no run pays
                # for the ones before it.
                key = next_key()
                result = timed(command(key), env=dict(os.environ, **(extra_env or {})))
                subprocess.run(["aws", "--endpoint-url", endpoint, "s3", "rm", "--quiet", key], check=True)
                return result

            variants = {
                f"aws s3 cp ({args.size_mib} MiB)": lambda: uploaded(lambda key: ["aws", "--endpoint-url", endpoint, "s3", "cp", "--quiet", plain, key]),
                f"pgseal encrypt -o s3://… ({args.size_mib} MiB), 4 × 16 MiB parts": lambda: uploaded(
                    lambda key: [PGSEAL, "encrypt", "-r", recipient, "-o", key, plain]),
                f"pgseal encrypt -o s3://… ({args.size_mib} MiB), 8 × 16 MiB parts": lambda: uploaded(
                    lambda key: [PGSEAL, "encrypt", "-r", recipient, "-o", key, plain], {"PGSEAL_S3_CONCURRENCY": "8"}),
                f"pgseal encrypt -o s3://… ({args.size_mib} MiB), 8 × 8 MiB parts": lambda: uploaded(
                    lambda key: [PGSEAL, "encrypt", "-r", recipient, "-o", key, plain], {"PGSEAL_S3_CONCURRENCY": "8", "PGSEAL_S3_PART_SIZE_MIB": "8"}),
                "pgseal export → local directory": lambda: export(db, scratch + "/local", "--jobs", "2"),
                "pgseal export → S3": lambda: timed([PGSEAL, "export", "-q", "--progress", "never", "--profile", "kessan-user-data", "--db", db, "--to", f"s3://bench/e{next_key()[-3:]}/",
                                                     "--no-encrypt", "--no-sign", "--jobs", "2"]),
            }
            results = {name: [] for name in variants}
            for round_number in range(args.rounds):
                # Alternate the order, so that no variant always runs on a warmer (or more loaded) server.
                order = list(variants.items())
                for name, run in (order if round_number % 2 == 0 else reversed(order)):
                    results[name].append(run())
                print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)
            print(f"\n{args.rounds} rounds, median wall time, against a local moto server\n")
            print("| command | wall (s) | MB/s | peak RSS (MiB) |")
            print("|---|---:|---:|---:|")
            for name, samples in results.items():
                wall = statistics.median(w for w, _ in samples)
                rate = f"{args.size_mib * (1 << 20) / wall / 1e6:.0f}" if "MiB" in name else ""
                print(f"| {name} | {wall:.2f} | {rate} | {max(r for _, r in samples):.0f} |")
    finally:
        subprocess.run([os.path.join(ROOT, "scripts", "s3server.sh"), "stop", s3dir], check=False)


if __name__ == "__main__":
    main()
