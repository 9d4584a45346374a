#!/usr/bin/env python3
"""pgseal export against the tools a user would otherwise run, side by side in one run on the
same data: `pg_dump --data-only` of the four tables piped through `zstd -3`, and an ordered
`psql \\copy` of the same rows. Prints wall times (median of ROUNDS), ratios and peak RSS, at
1x and 3x the data for pgseal's memory.

    benchmarks/export_vs_pg_dump.py [--users 1000000] [--rounds 3] [--no-3x]

Starts its own throwaway PostgreSQL (scripts/pgcluster.sh) and removes it afterwards."""
import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PGSEAL = os.path.join(ROOT, ".build", "release", "pgseal")
TABLES = ["users", "user_profiles", "user_watchlist", "user_subscriptions"]
ORDERED_COPIES = [
    "\\copy (SELECT id, email, email_verified, created_at, updated_at, is_active FROM users WHERE is_active ORDER BY id) TO '/dev/null'",
    "\\copy (SELECT user_id, display_name, timezone, notification_preferences, created_at, updated_at FROM user_profiles ORDER BY user_id) TO '/dev/null'",
    "\\copy (SELECT user_id, ticker, notes, added_at FROM user_watchlist ORDER BY user_id, ticker) TO '/dev/null'",
    "\\copy (SELECT id, user_id, plan_id, status, current_period_start, current_period_end, created_at FROM user_subscriptions WHERE status = 'active' ORDER BY id) TO '/dev/null'",
]


def timed(command, shell=False, env=None):
    """Runs a command under /usr/bin/time; returns (wall seconds, peak RSS in MiB)."""
    fd, report = tempfile.mkstemp()
    os.close(fd)
    argv = ["/usr/bin/time", "-o", report, "-f", "%e %M"] + (["bash", "-o", "pipefail", "-c", command] if shell else command)
    started = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
    wall = time.monotonic() - started
    with open(report) as f:
        _, rss_kib = f.read().split()[-2:]
    os.unlink(report)
    return wall, int(rss_kib) / 1024


def start_cluster(directory):
    """A throwaway PostgreSQL (scripts/pgcluster.sh); returns its superuser URL."""
    return subprocess.run([os.path.join(ROOT, "scripts", "pgcluster.sh"), "start", directory],
                          check=True, capture_output=True, text=True).stdout.strip()


def stop_cluster(directory):
    subprocess.run([os.path.join(ROOT, "scripts", "pgcluster.sh"), "stop", directory], check=False)


@contextlib.contextmanager
def fixture_cluster(users):
    """A throwaway cluster with the fixture loaded and a scratch directory: (url, db, scratch)."""
    cluster = tempfile.mkdtemp(prefix="pgseal-bench-pg.")
    scratch = tempfile.mkdtemp(prefix="pgseal-bench-out.")
    try:
        url = start_cluster(cluster)
        yield url, load(url, "kessan", users), scratch
    finally:
        stop_cluster(cluster)
        shutil.rmtree(scratch, ignore_errors=True)


def sealed_archive(db, scratch):
    """Keys made with pgseal keygen and an encrypted, signed export of db: (keys dir, archive path)."""
    keys = scratch + "/keys"
    if not os.path.isdir(keys):
        subprocess.run([PGSEAL, "keygen", "--out", keys], check=True, stdout=subprocess.DEVNULL)
    export(db, scratch + "/archive", "--jobs", "2", "--recipients-file", keys + "/age-recipient.txt",
           "--sign-key", keys + "/signing-key", sealed=True)
    archive = next(os.path.join(d, f) for d, _, fs in os.walk(scratch + "/archive") for f in fs if f.endswith(".age"))
    return keys, archive


def load(url, name, users):
    started = time.monotonic()
    db = subprocess.run([os.path.join(ROOT, "scripts", "load-fixtures.sh"), url, name, str(users)],
                        check=True, capture_output=True, text=True).stdout.strip()
    print(f"loaded {users:,} users into {name} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return db


def export(db, out, *extra, sealed=False):
    shutil.rmtree(out, ignore_errors=True)
    choice = [] if sealed else ["--no-encrypt", "--no-sign"]
    return timed([PGSEAL, "export", "-q", "--progress", "never", "--profile", "kessan-user-data", "--db", db, "--to", out, *choice, *extra])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-3x", dest="triple", action="store_false")
    args = parser.parse_args()

    with fixture_cluster(args.users) as (url, db, scratch):
        subprocess.run([PGSEAL, "keygen", "--out", scratch + "/keys"], check=True, stdout=subprocess.DEVNULL)
        sealing = ["--recipients-file", scratch + "/keys/age-recipient.txt", "--sign-key", scratch + "/keys/signing-key"]
        dump = "pg_dump --data-only " + " ".join(f"-t {t}" for t in TABLES) + f" '{db}' | zstd -3 -q -o {scratch}/dump.zst -f"
        copy = f"psql '{db}' -qX " + " ".join(f"-c \"{c}\"" for c in ORDERED_COPIES)
        variants = {
            "pg_dump --data-only | zstd -3": lambda: timed(dump, shell=True),
            "psql \\copy (… ORDER BY key), 4 tables": lambda: timed(copy, shell=True),
            "pgseal export (zstd -3, 1 job)": lambda: export(db, scratch + "/a"),
            "pgseal export (zstd -3, --jobs 2)": lambda: export(db, scratch + "/b", "--jobs", "2"),
            "pgseal export (zstd -1, --jobs 2)": lambda: export(db, scratch + "/c", "--jobs", "2", "--compression-level", "1"),
            "pgseal export (zstd -3, --jobs 2, encrypted + signed)": lambda: export(db, scratch + "/d", "--jobs", "2", *sealing, sealed=True),
        }
        results = {name: [] for name in variants}
        for round_number in range(args.rounds):
            for name, run in variants.items():
                results[name].append(run())
            print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)

        baseline = statistics.median(w for w, _ in results["pg_dump --data-only | zstd -3"])
        print(f"\n{args.users:,} users, {args.rounds} rounds, median wall time; ratio against pg_dump | zstd -3\n")
        plain = statistics.median(w for w, _ in results["pgseal export (zstd -3, --jobs 2)"])
        sealed = statistics.median(w for w, _ in results["pgseal export (zstd -3, --jobs 2, encrypted + signed)"])
        print(f"encryption and signing add {100 * (sealed / plain - 1):+.1f} % to the export's wall time\n")
        print("| command | wall (s) | ratio | peak RSS (MiB) |")
        print("|---|---:|---:|---:|")
        for name, samples in results.items():
            wall = statistics.median(w for w, _ in samples)
            rss = max(r for _, r in samples)
            label = name.replace("|", "\\|")
            print(f"| {label} | {wall:.2f} | {wall / baseline:.2f}x | {rss:.0f} |")

        if args.triple:
            db3 = load(url, "kessan3x", args.users * 3)
            one = export(db, scratch + "/m1", "--jobs", "2")
            three = export(db3, scratch + "/m3", "--jobs", "2")
            print(f"\npgseal peak RSS with --jobs 2: {one[1]:.0f} MiB at {args.users:,} users, "
                  f"{three[1]:.0f} MiB at {args.users * 3:,} users (wall {one[0]:.1f} s and {three[0]:.1f} s)")


if __name__ == "__main__":
    main()
