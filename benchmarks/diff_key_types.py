#!/usr/bin/env python3
"""diff by key type, side by side in one run: the same rows keyed by bigint (ordered by pgseal
itself) and by date and by numeric (ordered by the server, one query per pair of keys that
differ), each with a few planted differences; and the export of each table for comparison.

    python3 benchmarks/diff_key_types.py [--rows 1000000] [--rounds 3]

Prints per key type the median diff time, the server comparisons it made, and its ratio to the
export of the same table."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_vs_pg_dump import PGSEAL, start_cluster, stop_cluster, timed  # noqa: E402

TABLES = {
    "k_bigint": "bigint",
    "k_date": "date",
    "k_numeric": "numeric",
}


def psql(url, sql):
    subprocess.run(["psql", url, "-qX", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, stdout=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cluster = tempfile.mkdtemp(prefix="pgseal-bench-pg.")
    scratch = tempfile.mkdtemp(prefix="pgseal-bench-out.")
    try:
        url = start_cluster(cluster)
        db = url.rsplit("/", 1)[0] + "/keys"
        psql(url, "CREATE DATABASE keys")
        key_of = {"k_bigint": "g", "k_date": "date '4713-01-01 BC' + g", "k_numeric": "g / 7.0"}
        for table, kind in TABLES.items():
            psql(db, f"CREATE TABLE {table} (id {kind} PRIMARY KEY, payload text)")
            psql(db, f"INSERT INTO {table} SELECT {key_of[table]}, md5(g::text) FROM generate_series(1, {args.rows}) g")
        psql(db, "ANALYZE")
        keys = scratch + "/keys"
        subprocess.run([PGSEAL, "keygen", "--out", keys], check=True, stdout=subprocess.DEVNULL)
        results = {}
        for table in TABLES:
            config = f"{scratch}/{table}.yaml"
            with open(config, "w") as f:
                f.write(f"profiles:\n  - name: {table.replace('_', '-')}\n    tables:\n      - table: {table}\n")
            out = f"{scratch}/{table}"
            export = [PGSEAL, "export", "-q", "--progress", "never", "--db", db, "--no-encrypt",
                      "--sign-key", keys + "/signing-key", "--config", config, "--profile", table.replace("_", "-")]
            exports = [timed(export + ["--to", f"{out}-{i}"])[0] for i in range(args.rounds)]
            subprocess.run(export + ["--to", out], check=True, stdout=subprocess.DEVNULL)
            archive = next(os.path.join(d, f) for d, _, fs in os.walk(out) for f in fs if f.endswith(".tar.zst"))
            # Five rows deleted, five changed, spread over the table.
            psql(db, f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} ORDER BY id OFFSET {args.rows // 6} LIMIT 5)")
            psql(db, f"UPDATE {table} SET payload = 'x' WHERE id IN (SELECT id FROM {table} ORDER BY id OFFSET {args.rows // 2} LIMIT 5)")
            report = f"{scratch}/{table}-diff.json"
            diff = [PGSEAL, "diff", archive, "--db", db, "--trusted-key", keys + "/allowed_signers", "--report", report, "-q"]
            diffs = []
            for _ in range(args.rounds):
                diffs.append(timed_allow_one(diff))
            with open(report) as f:
                found = json.load(f)["tables"][0]
            results[table] = (statistics.median(diffs), statistics.median(exports), found)
        print(f"\n{args.rows:,} rows per table, 5 deleted and 5 changed, median of {args.rounds}:")
        print(f"{'key':12} {'diff s':>8} {'export s':>9} {'ratio':>6} {'server comparisons':>19}  found")
        for table, (diff_s, export_s, found) in results.items():
            print(f"{TABLES[table]:12} {diff_s:8.2f} {export_s:9.2f} {diff_s / export_s:6.2f} {found['server_comparisons']:19d}  "
                  f"{found['changed']} changed, {found['only_in_archive']} only in archive, {found['only_in_database']} only in database")
    finally:
        stop_cluster(cluster)


def timed_allow_one(argv):
    """diff exits 1 when it finds differences, the expected outcome here."""
    import time
    started = time.monotonic()
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert result.returncode == 1, f"pgseal diff exited {result.returncode}: {result.stderr}"
    return time.monotonic() - started


if __name__ == "__main__":
    main()
