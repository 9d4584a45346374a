#!/usr/bin/env python3
"""pgseal follow against pg_recvlogical of the same publication, side by side, under one pgbench load.

Both consume a logical slot of the pgoutput plugin on the same server during the same load:
pgseal follow seals change segments (canonical JSON lines, zstd, age, signed, chained) every
--segment-every; the peer is what a user would otherwise run — pg_recvlogical writing the raw
pgoutput stream through `zstd -3 | age -r`. Reported:

- CPU (user + system) of each side over the load, and the ratio (issue 27: <= 1.2x);
- the lag from commit to sealed segment: per segment, sealed_at - first_commit (the oldest
  change in it waited longest), p50 / p99 / max (target: <= the interval + 5 s at p99);
- the follower's RSS, sampled every 5 s: first minute against the rest (flat?);
- replaying the base and every segment (restore --until latest) against restoring a later base
  taken at an exact position (restore of one archive): <= 1.5x.

Usage: benchmarks/follow_vs_recvlogical.py [--users 100000] [--seconds 300] [--rate 100] [--segment-every 10s]
"""

import argparse
import glob
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_vs_pg_dump import PGSEAL, ROOT, fixture_cluster  # noqa: E402

LOAD = """\\set n random(1, {users})
\\set s random(1, {subscriptions})
\\set t random(1, 5000)
BEGIN;
UPDATE users SET updated_at = now() WHERE id = (SELECT id FROM bench_ids WHERE n = :n);
UPDATE user_profiles SET display_name = md5(random()::text), updated_at = now() WHERE user_id = (SELECT id FROM bench_ids WHERE n = :n);
INSERT INTO user_watchlist VALUES ((SELECT id FROM bench_ids WHERE n = :n), 'B' || :t, 'bench', now()) ON CONFLICT DO NOTHING;
UPDATE user_subscriptions SET current_period_end = current_period_end + interval '1 day' WHERE id = :s;
END;
"""


def psql(db, sql):
    return subprocess.run(["psql", db, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True, text=True).stdout.strip()


def rusage_report(path):
    with open(path) as f:
        user, system, rss = f.read().split()[-3:]
    return float(user) + float(system), int(rss) / 1024


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def child_of(pid, name):
    out = subprocess.run(["pgrep", "-P", str(pid), "-f", name], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else None


def stamp(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed_restore(archive, db, keys, *extra):
    started = time.monotonic()
    subprocess.run([PGSEAL, "restore", archive, "--db", db, "--create-tables", "-i", keys + "/age-identity.txt",
                    "--trusted-key", keys + "/allowed_signers", "-q", *extra], check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--rate", type=int, default=100, help="pgbench transactions a second")
    parser.add_argument("--segment-every", default="10s")
    parser.add_argument("--perf", metavar="FILE", help="record the follower with perf record -g into FILE (profiling, not for the figures)")
    args = parser.parse_args()

    with fixture_cluster(args.users) as (url, db, scratch):
        keys, store = scratch + "/keys", scratch + "/store"
        subprocess.run([PGSEAL, "keygen", "--out", keys], check=True, stdout=subprocess.DEVNULL)
        # The profile filters users and subscriptions: the follower needs their old rows.
        psql(db, "ALTER TABLE users REPLICA IDENTITY FULL; ALTER TABLE user_subscriptions REPLICA IDENTITY FULL;"
                 "CREATE TABLE bench_ids AS SELECT row_number() OVER () AS n, id FROM users; ALTER TABLE bench_ids ADD PRIMARY KEY (n)")
        subscriptions = int(psql(db, "SELECT max(id) FROM user_subscriptions"))
        follow = [PGSEAL, "follow", "--profile", "kessan-user-data", "--db", db, "--to", store, "--publication", "bench_pub", "--slot", "bench_follow",
                  "-R", keys + "/age-recipient.txt", "--sign-key", keys + "/signing-key", "-q"]
        # The base first, outside the measurement: both sides then only follow.
        subprocess.run(follow + ["--until-caught-up"], check=True, stdout=subprocess.DEVNULL)
        base = sorted(p for p in glob.glob(store + "/kessan-user-data/*/*/*/*.tar.zst.age"))[0]

        reports = {name: tempfile.mktemp(prefix=f"pgseal-bench-{name}.") for name in ("follow", "recv")}
        profiler = ["perf", "record", "-g", "-o", args.perf, "--"] if args.perf else []
        follower = subprocess.Popen(["/usr/bin/time", "-o", reports["follow"], "-f", "%U %S %M"] + profiler + follow
                                    + ["--segment-every", args.segment_every, "--idle-seal-every", args.segment_every],
                                    stdout=subprocess.DEVNULL)
        time.sleep(2)
        psql(db, "SELECT pg_create_logical_replication_slot('bench_recv', 'pgoutput')")
        recipient = open(keys + "/age-recipient.txt").read().split()[0]
        received = scratch + "/recv.zst.age"
        recv = subprocess.Popen(["/usr/bin/time", "-o", reports["recv"], "-f", "%U %S %M", "bash", "-o", "pipefail", "-c",
                                 f"pg_recvlogical -d '{db}' --slot bench_recv --start -o proto_version=1 -o publication_names=bench_pub "
                                 f"-s 1 -f - | zstd -3 -q | age -r {recipient} > {received}"])
        script = scratch + "/load.sql"
        with open(script, "w") as f:
            f.write(LOAD.format(users=args.users, subscriptions=subscriptions))
        print(f"load: {args.rate} tx/s for {args.seconds} s (4 tables a transaction), segments every {args.segment_every}", file=sys.stderr)
        pid = child_of(follower.pid, "pgseal") or child_of(child_of(follower.pid, "perf") or 0, "pgseal")
        samples = []
        bench = subprocess.Popen(["pgbench", "-n", "-c", "4", "-j", "2", "-R", str(args.rate), "-T", str(args.seconds), "-f", script, db],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        while bench.poll() is None:
            samples.append(rss_mib(pid))
            time.sleep(5)
        load_report = bench.stdout.read()
        end = psql(db, "SELECT pg_current_wal_lsn()")
        # Both caught up to the end of the load, then stopped.
        for slot in ("bench_recv", "bench_follow"):
            deadline = time.monotonic() + 120
            while psql(db, f"SELECT confirmed_flush_lsn >= '{end}' FROM pg_replication_slots WHERE slot_name = '{slot}'") != "t":
                if time.monotonic() > deadline:
                    sys.exit(f"{slot} did not catch up with {end}")
                time.sleep(1)
        os.kill(pid, signal.SIGTERM)
        follower.wait()
        recv_pid = subprocess.run(["pgrep", "-f", "pg_recvlogical -d"], capture_output=True, text=True).stdout.split()
        for p in recv_pid:
            os.kill(int(p), signal.SIGINT)
        recv.wait()
        follow_cpu, follow_rss = rusage_report(reports["follow"])
        recv_cpu, recv_rss = rusage_report(reports["recv"])

        lags = []
        for seal in glob.glob(store + "/kessan-user-data/changes/*/*/*/*.seal"):
            changes = json.load(open(seal)).get("changes") or {}
            if changes.get("first_commit") and changes.get("sealed_at"):
                lags.append(stamp(changes["sealed_at"]) - stamp(changes["first_commit"]))
        tps = next((line for line in load_report.splitlines() if line.startswith("tps")), "tps ?")

        # Replay: the base and every segment, against a base taken at the end.
        later = subprocess.run([PGSEAL, "export", "--exact-position", "--profile", "kessan-user-data", "--db", db, "--to", store,
                                "-R", keys + "/age-recipient.txt", "--sign-key", keys + "/signing-key", "-q", "--progress", "never"],
                               check=True, capture_output=True, text=True).stdout.strip()
        psql(url, "CREATE DATABASE bench_replayed"); psql(url, "CREATE DATABASE bench_restored")
        base_url = url.rsplit("/", 1)[0]
        replay = timed_restore(base, base_url + "/bench_replayed", keys, "--until", "latest")
        plain = timed_restore(later, base_url + "/bench_restored", keys)
        segments = len(glob.glob(store + "/kessan-user-data/changes/*/*/*/*.seal"))
        valid = [s for s in samples if s]
        first, rest = valid[:12], valid[12:] or valid

        print(f"\n{tps.strip()}; {segments} segments; WAL end {end}")
        print("| side | CPU (s) | ratio | peak RSS (MiB) |\n|---|---:|---:|---:|")
        print(f"| pg_recvlogical \\| zstd -3 \\| age | {recv_cpu:.2f} | 1.00x | {recv_rss:.0f} |")
        print(f"| pgseal follow | {follow_cpu:.2f} | {follow_cpu / recv_cpu:.2f}x | {follow_rss:.0f} |")
        if lags:
            print(f"\nlag commit → sealed (per segment, its oldest change): p50 {percentile(lags, 50):.1f} s, "
                  f"p99 {percentile(lags, 99):.1f} s, max {max(lags):.1f} s over {len(lags)} segments (interval {args.segment_every})")
        if valid:
            print(f"follower RSS: first minute {min(first):.0f}–{max(first):.0f} MiB, after {min(rest):.0f}–{max(rest):.0f} MiB ({len(valid)} samples)")
        print(f"replay base + {segments} segments: {replay:.2f} s; restore of the later base: {plain:.2f} s; ratio {replay / plain:.2f}x")


if __name__ == "__main__":
    main()
