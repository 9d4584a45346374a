#!/usr/bin/env python3
"""pgseal diff against reladiff (PyPI), side by side in one run: the 1M-user database is copied,
10 changes are planted in the copy, then the archive of the original is diffed against the copy
with pgseal, and the original against the copy with reladiff, table by table on the same
columns and keys. Prints wall times (median of ROUNDS), peak RSS and the differences each found.

    benchmarks/diff_vs_reladiff.py [--users 1000000] [--rounds 3]
Needs: pip install reladiff psycopg2-binary (benchmarks/run.sh installs them)."""
import argparse
import os
import shlex
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_vs_pg_dump import PGSEAL, export, fixture_cluster, sealed_archive, timed  # noqa: E402

TABLES = {
    "users": ("id", "id,email,email_verified,created_at,updated_at,is_active", "is_active"),
    "user_profiles": ("user_id", "user_id,display_name,timezone,notification_preferences,created_at,updated_at", None),
    "user_watchlist": ("user_id,ticker", "user_id,ticker,notes,added_at", None),
    "user_subscriptions": ("id", "id,user_id,plan_id,status,current_period_start,current_period_end,created_at", "status = 'active'"),
}

PLANTED = """
UPDATE users SET email = 'planted1@example.com' WHERE id = md5('user1001')::uuid;
UPDATE users SET updated_at = updated_at + interval '1 microsecond' WHERE id = md5('user2002')::uuid;
DELETE FROM user_watchlist WHERE user_id = md5('user3003')::uuid AND ticker = (SELECT min(ticker) FROM user_watchlist WHERE user_id = md5('user3003')::uuid);
INSERT INTO user_watchlist VALUES (md5('user4004')::uuid, 'PLNT', 'planted', '2026-11-24 00:00:00+00');
UPDATE user_watchlist SET notes = NULL WHERE user_id = md5('user5005')::uuid AND notes IS NOT NULL AND ticker = (SELECT min(ticker) FROM user_watchlist WHERE user_id = md5('user5005')::uuid AND notes IS NOT NULL);
UPDATE user_profiles SET display_name = 'Planted Name' WHERE user_id = md5('user6006')::uuid;
UPDATE user_profiles SET notification_preferences = '{"email": false}' WHERE user_id = md5('user7007')::uuid;
DELETE FROM user_profiles WHERE user_id = md5('user8008')::uuid;
UPDATE user_subscriptions SET plan_id = 'planted' WHERE id = (SELECT min(id) FROM user_subscriptions WHERE status = 'active');
INSERT INTO user_subscriptions (user_id, plan_id, status, current_period_start, current_period_end, created_at, amount)
  VALUES (md5('user9009')::uuid, 'pro', 'active', '2026-11-01', '2026-12-01', '2026-11-24', 9.99);
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with fixture_cluster(args.users) as (url, db, scratch):
        keys, archive = sealed_archive(db, scratch)
        subprocess.run(["psql", url, "-qXc", "CREATE DATABASE changed TEMPLATE kessan"], check=True)
        changed = url.rsplit("/", 1)[0] + "/changed"
        subprocess.run(["psql", changed, "-qX", "-v", "ON_ERROR_STOP=1", "-c", PLANTED], check=True)
        subprocess.run(["psql", changed, "-qXc", "ANALYZE"], check=True)

        pgseal = [PGSEAL, "diff", archive, "--db", changed, "-i", keys + "/age-identity.txt", "--trusted-key", keys + "/allowed_signers", "--report", scratch + "/diff.json"]
        reladiff_commands = []
        for table, (key, columns, where) in TABLES.items():
            # reladiff takes postgresql:// URLs only.
            command = ["reladiff", db.replace("postgres://", "postgresql://", 1), table,
                       changed.replace("postgres://", "postgresql://", 1), table, "--stats"]
            for k in key.split(","):
                command += ["-k", k]
            for c in columns.split(","):
                if c not in key.split(","):
                    command += ["-c", c]
            if where:
                command += ["-w", where]
            reladiff_commands.append(command)
        reladiff = " && ".join(shlex.join(command) for command in reladiff_commands)

        sealing = ["--jobs", "2", "--recipients-file", keys + "/age-recipient.txt", "--sign-key", keys + "/signing-key"]
        results = {"pgseal diff (archive vs database)": [], "reladiff (database vs database), 4 tables": [],
                   "pgseal export of the changed database (--jobs 2, encrypted + signed)": []}
        for round_number in range(args.rounds):
            results["pgseal diff (archive vs database)"].append(timed_allow_one(pgseal))
            results["reladiff (database vs database), 4 tables"].append(timed(reladiff, shell=True))
            results["pgseal export of the changed database (--jobs 2, encrypted + signed)"].append(
                export(changed, scratch + "/export-changed", *sealing, sealed=True))
            print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)

        import json
        report = json.load(open(scratch + "/diff.json"))
        found = sum(t["changed"] + t["only_in_archive"] + t["only_in_database"] for t in report["tables"])
        stats = subprocess.run(reladiff, shell=True, capture_output=True, text=True).stdout
        print(f"\n{args.users:,} users, 10 planted changes (10 differing rows: 6 updates, 2 deletes, 2 inserts), "
              f"{args.rounds} rounds, median\n")
        diff_wall = statistics.median(w for w, _ in results["pgseal diff (archive vs database)"])
        print("| command | wall (s) | pgseal diff's speed-up / ratio | peak RSS (MiB) |")
        print("|---|---:|---:|---:|")
        for name, samples in results.items():
            label = name.replace("|", "\\|")
            wall = statistics.median(w for w, _ in samples)
            relation = "" if name.startswith("pgseal diff") else (
                f"diff {wall / diff_wall:.2f}x faster" if name.startswith("reladiff") else f"diff = {diff_wall / wall:.2f}x the export")
            print(f"| {label} | {wall:.2f} | {relation} | {max(r for _, r in samples):.0f} |")
        print(f"\npgseal diff found {found} differing rows:")
        for t in report["tables"]:
            print(f"  {t['name']}: changed {t['changed_keys']}, only in archive {t['only_in_archive_keys']}, only in database {t['only_in_database_keys']}")
        print("\nreladiff --stats:\n" + stats)


def timed_allow_one(argv):
    """pgseal diff exits 1 when it finds differences, which is the expected outcome here."""
    import tempfile
    import time
    fd, report = tempfile.mkstemp()
    os.close(fd)
    started = time.monotonic()
    result = subprocess.run(["/usr/bin/time", "-o", report, "-f", "%e %M"] + argv, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - started
    assert result.returncode == 1, f"pgseal diff exited {result.returncode}"
    rss = int(open(report).read().split()[-1]) / 1024
    os.unlink(report)
    return wall, rss


if __name__ == "__main__":
    main()
