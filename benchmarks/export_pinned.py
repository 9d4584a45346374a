#!/usr/bin/env python3
"""pgseal export against `pg_dump --data-only | zstd -3 | age -r`, with PostgreSQL pinned to
core 0 and the client side (pgseal, or pg_dump + zstd + age) pinned to core 1 with `taskset`:
a model of a database on its own host, where the server's work and the client's do not share
a core. Also run unpinned in the same rounds. Prints wall times (median of ROUNDS), ratios,
and each side's CPU seconds: the server's (every PostgreSQL process, measured from /proc) and
the client's (user + system of the command and its children).

    benchmarks/export_pinned.py [--users 1000000] [--rounds 3]

Starts its own throwaway PostgreSQL (scripts/pgcluster.sh) and removes it afterwards."""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_vs_pg_dump import PGSEAL, TABLES, fixture_cluster  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
SERVER_CORE, CLIENT_CORE = "0", "1"


def postmaster_pid(url):
    directory = subprocess.run(["psql", url, "-AtXc", "SHOW data_directory"], check=True,
                               capture_output=True, text=True).stdout.strip()
    with open(os.path.join(directory, "postmaster.pid")) as f:
        return int(f.readline())


def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def cpu_ticks(pid, reaped_too=False):
    """utime + stime of pid (and, for the postmaster, of the children it has reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    # After the ")": state is field 3 of stat(5), so utime (14) is index 11 here.
    ticks = int(fields[11]) + int(fields[12])
    if reaped_too:
        ticks += int(fields[13]) + int(fields[14])
    return ticks


def server_cpu(postmaster):
    """Every PostgreSQL process's CPU so far: the postmaster, its reaped backends, its live ones."""
    return {"postmaster": cpu_ticks(postmaster, reaped_too=True), **{pid: cpu_ticks(pid) for pid in children(postmaster)}}


def server_seconds(before, after):
    total = 0
    for pid, ticks in after.items():
        total += ticks - before.get(pid, 0)
    return total / TICKS


def pin_server(postmaster, core):
    """The postmaster and its live children; backends forked later inherit the mask."""
    for pid in [postmaster, *children(postmaster)]:
        subprocess.run(["taskset", "-a", "-p", "-c", core, str(pid)], check=True, stdout=subprocess.DEVNULL)


def run(command, postmaster, pinned):
    """Runs a shell command; returns (wall s, client CPU s, server CPU s, peak RSS MiB)."""
    fd, report = tempfile.mkstemp()
    os.close(fd)
    argv = ["/usr/bin/time", "-o", report, "-f", "%e %U %S %M", "bash", "-o", "pipefail", "-c", command]
    if pinned:
        argv = ["taskset", "-c", CLIENT_CORE] + argv
    before = server_cpu(postmaster)
    started = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - started
    after = server_cpu(postmaster)
    with open(report) as f:
        _, user, system, rss_kib = f.read().split()[-4:]
    os.unlink(report)
    return wall, float(user) + float(system), server_seconds(before, after), int(rss_kib) / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if os.cpu_count() < 2:
        sys.exit("the pinned measurement needs two cores")

    with fixture_cluster(args.users) as (url, db, scratch):
        postmaster = postmaster_pid(url)
        subprocess.run([PGSEAL, "keygen", "--out", scratch + "/keys"], check=True, stdout=subprocess.DEVNULL)
        recipient = open(scratch + "/keys/age-recipient.txt").read().strip()
        sealing = f"--recipients-file {scratch}/keys/age-recipient.txt --sign-key {scratch}/keys/signing-key"
        dump = ("pg_dump --data-only " + " ".join(f"-t {t}" for t in TABLES)
                + f" '{db}' | zstd -3 -q | age -r {recipient} > {scratch}/dump.zst.age")

        def export(jobs):
            return (f"rm -rf {scratch}/out && {PGSEAL} export -q --progress never --profile kessan-user-data "
                    f"--db '{db}' --to {scratch}/out --jobs {jobs} {sealing}")

        variants = {
            "pg_dump --data-only | zstd -3 | age -r": dump,
            "pgseal export --jobs 1 (encrypted + signed)": export(1),
            "pgseal export --jobs 2 (encrypted + signed)": export(2),
        }
        results = {(name, pinned): [] for pinned in (False, True) for name in variants}
        for round_number in range(args.rounds):
            for pinned in (False, True):
                pin_server(postmaster, SERVER_CORE if pinned else f"0-{os.cpu_count() - 1}")
                for name, command in variants.items():
                    results[(name, pinned)].append(run(command, postmaster, pinned))
            print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)
        pin_server(postmaster, f"0-{os.cpu_count() - 1}")

        print(f"\n{args.users:,} users, {args.rounds} rounds, median; ratio against the pipeline in the same setting\n")
        print("| setting | command | wall (s) | ratio | client CPU (s) | server CPU (s) | peak RSS (MiB) |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for pinned in (False, True):
            setting = "server on core 0, client on core 1" if pinned else "unpinned, both cores shared"
            baseline = statistics.median(r[0] for r in results[(next(iter(variants)), pinned)])
            for name in variants:
                samples = results[(name, pinned)]
                wall = statistics.median(r[0] for r in samples)
                client = statistics.median(r[1] for r in samples)
                server = statistics.median(r[2] for r in samples)
                rss = max(r[3] for r in samples)
                print(f"| {setting} | {name.replace('|', chr(92) + '|')} | {wall:.2f} | {wall / baseline:.2f}x | "
                      f"{client:.1f} | {server:.1f} | {rss:.0f} |")


if __name__ == "__main__":
    main()
