#!/usr/bin/env python3
"""pgseal at the scale an hourly RPO needs: USERS users (10,000,000 by default, about 82M rows),
measured once, each step timed with its rows per second and peak RSS — export encrypted and
signed to a local directory and to the local S3 server (moto, SigV4 checked), verify --level
deep, verify --level restore, diff against the database it came from. The targets (issue 14):
export < 10 min, restore-verify < 15 min on this machine class.

    benchmarks/scale.py [--users 10000000] [--no-s3]"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_vs_pg_dump import PGSEAL, ROOT, fixture_cluster, timed  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10_000_000)
    parser.add_argument("--no-s3", dest="s3", action="store_false")
    args = parser.parse_args()
    results = []
    with fixture_cluster(args.users) as (url, db, scratch):
        keys = scratch + "/keys"
        subprocess.run([PGSEAL, "keygen", "--out", keys], check=True, stdout=subprocess.DEVNULL)
        sealing = ["--recipients-file", keys + "/age-recipient.txt", "--sign-key", keys + "/signing-key"]
        trust = ["--trusted-key", keys + "/allowed_signers"]
        export = [PGSEAL, "export", "-q", "--progress", "never", "--profile", "kessan-user-data", "--db", db, "--jobs", "2"] + sealing

        wall, rss = timed(export + ["--to", scratch + "/archives"])
        archive = next(os.path.join(d, f) for d, _, fs in os.walk(scratch + "/archives") for f in fs if f.endswith(".age"))
        with open(archive + ".seal") as f:
            seal = json.load(f)
        rows = sum(t["rows"] for t in seal["tables"])
        size = os.path.getsize(archive)
        print(f"{rows:,} rows, archive {size / 2**30:.2f} GiB", file=sys.stderr, flush=True)
        results.append(("export to a directory (encrypted, signed, --jobs 2)", wall, rss))

        if args.s3:
            s3dir = tempfile.mkdtemp(prefix="pgseal-bench-s3.")
            endpoint, access, secret = subprocess.run([os.path.join(ROOT, "scripts", "s3server.sh"), "start", s3dir],
                                                      check=True, capture_output=True, text=True).stdout.split()
            env = dict(os.environ, AWS_ACCESS_KEY_ID=access, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION="us-east-1",
                       AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true", PGSEAL_S3_ENDPOINT=endpoint)
            try:
                subprocess.run(["aws", "--endpoint-url", endpoint, "s3", "mb", "s3://bench"], check=True, stdout=subprocess.DEVNULL, env=env)
                wall, rss = timed(export + ["--to", "s3://bench/pgseal/"], env=env)
                results.append(("export to the local S3 server (moto)", wall, rss))
            finally:
                subprocess.run([os.path.join(ROOT, "scripts", "s3server.sh"), "stop", s3dir], check=False)

        verify = [PGSEAL, "verify", archive, "-i", keys + "/age-identity.txt"] + trust
        results.append(("verify --level deep", *timed(verify + ["--level", "deep"])))
        results.append(("verify --level restore", *timed(verify + ["--level", "restore", "--scratch-db", url])))
        results.append(("diff (archive against its database, no difference)",
                        *timed([PGSEAL, "diff", archive, "--db", db, "-i", keys + "/age-identity.txt"] + trust)))

        print(f"\n{args.users:,} users ({rows:,} rows, archive {size / 2**30:.2f} GiB), one run\n")
        print("| step | wall | rows/s | peak RSS (MiB) |")
        print("|---|---:|---:|---:|")
        for name, wall, rss in results:
            print(f"| {name} | {wall / 60:.1f} min ({wall:.0f} s) | {rows / wall:,.0f} | {rss:.0f} |")


if __name__ == "__main__":
    main()
