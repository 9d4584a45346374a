#!/usr/bin/env python3
"""Partitioned exports (docs/FORMAT.md §10) on one machine: the USERS-user fixture exported
encrypted and signed as one object (--jobs 2) and in 2 and 4 parts by 1, 2 and 4 worker
processes, each run's wall time, the server's and the client's CPU seconds, and the peak RSS
of the largest process; then the 4-part archive verified at level deep and diffed, to show the
readers keep up. On a 2-core machine the parts cannot run faster than the cores allow: the
point is what the CPU seconds say for a database on its own host with workers elsewhere.

    benchmarks/partitioned_export.py [--users 10000000]"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_vs_pg_dump import PGSEAL, fixture_cluster  # noqa: E402
from export_pinned import postmaster_pid, server_cpu, server_seconds  # noqa: E402


def run(argv, postmaster):
    """(wall s, client CPU s — the command and every child it waited for, server CPU s, peak RSS MiB)."""
    fd, report = tempfile.mkstemp()
    os.close(fd)
    before = server_cpu(postmaster)
    started = time.monotonic()
    subprocess.run(["/usr/bin/time", "-o", report, "-f", "%U %S %M"] + argv, check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - started
    after = server_cpu(postmaster)
    with open(report) as f:
        user, system, rss = f.read().split()[-3:]
    os.unlink(report)
    return wall, float(user) + float(system), server_seconds(before, after), int(rss) / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10_000_000)
    args = parser.parse_args()
    with fixture_cluster(args.users) as (url, db, scratch):
        postmaster = postmaster_pid(url)
        keys = scratch + "/keys"
        subprocess.run([PGSEAL, "keygen", "--out", keys], check=True, stdout=subprocess.DEVNULL)
        base = [PGSEAL, "export", "-q", "--progress", "never", "--profile", "kessan-user-data", "--db", db,
                "--recipients-file", keys + "/age-recipient.txt", "--sign-key", keys + "/signing-key"]
        variants = [
            ("one object, --jobs 2", ["--jobs", "2"]),
            ("2 parts, 1 worker at a time", ["--partitions", "2", "--workers", "1"]),
            ("2 parts, 2 workers", ["--partitions", "2", "--workers", "2"]),
            ("4 parts, 2 workers", ["--partitions", "4", "--workers", "2"]),
            ("4 parts, 4 workers", ["--partitions", "4", "--workers", "4"]),
        ]
        rows = []
        for name, extra in variants:
            out = f"{scratch}/out-{len(rows)}"
            shutil.rmtree(out, ignore_errors=True)
            rows.append((name, *run(base + ["--to", out] + extra, postmaster)))
            print(f"{name}: {rows[-1][1]:.1f} s", file=sys.stderr, flush=True)
        archive = next(os.path.join(d, f[:-len(".seal")]) for d, _, fs in os.walk(f"{scratch}/out-{len(rows) - 1}")
                       for f in fs if f.endswith(".seal"))
        trust = ["-i", keys + "/age-identity.txt", "--trusted-key", keys + "/allowed_signers"]
        deep = run([PGSEAL, "verify", archive, "--level", "deep"] + trust, postmaster)
        diff = run([PGSEAL, "diff", archive, "--db", db] + trust, postmaster)

        print(f"\n{args.users:,} users, one run each, encrypted and signed, {os.cpu_count()} cores shared with PostgreSQL\n")
        print("| export | wall (s) | client CPU (s) | server CPU (s) | peak RSS of one process (MiB) |")
        print("|---|---:|---:|---:|---:|")
        for name, wall, client, server, rss in rows:
            print(f"| {name} | {wall:.1f} | {client:.1f} | {server:.1f} | {rss:.0f} |")
        print(f"\nthe 4-part archive: verify --level deep {deep[0]:.1f} s ({deep[3]:.0f} MiB), diff {diff[0]:.1f} s ({diff[3]:.0f} MiB)")


if __name__ == "__main__":
    main()
