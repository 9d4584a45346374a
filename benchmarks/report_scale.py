#!/usr/bin/env python3
"""pgseal report and pgseal chain over a large store: ARCHIVES hourly archives of one profile,
each with a chained seal signed by ssh-keygen (4 tables, row counts drifting), the older half
pruned to tombstones, a restore attestation every 720 archives (a monthly drill) signed by a
verifier's key. Nothing but seals, notes and attestations is read, so the object of each
archive is a placeholder. Reports wall time, archives per second and peak RSS at 1/10 and the
whole size, to show what memory grows with.

    benchmarks/report_scale.py [--archives 10000]"""
import argparse
import datetime
import hashlib
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_vs_pg_dump import PGSEAL, timed  # noqa: E402

TABLES = ["public.user_profiles", "public.user_subscriptions", "public.user_watchlist", "public.users"]


def stamp(t, compact):
    return t.strftime("%Y%m%dT%H%M%SZ" if compact else "%Y-%m-%dT%H:%M:%SZ")


def make_store(root, count, keys, verifier, fingerprint, verifier_fingerprint):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    previous = None
    to_sign, attestations = [], []
    for n in range(count):
        t = now - datetime.timedelta(hours=count - n)
        name = f"bench-{stamp(t, True)}.tar.zst.age"
        key = f"bench/{t:%Y/%m/%d}/{name}"
        path = os.path.join(root, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        seal = {
            "format": "pgseal-seal/1", "object": name, "size": 1_600_000 + n, "sha256": "0" * 64, "manifest_sha256": "0" * 64,
            "created_at": stamp(t, False), "profile": "bench", "encryption": "age-x25519", "recipients": ["age1" + "q" * 58],
            "compression": "zstd", "snapshot": "00000003-00000002-1", "wal_lsn": "0/1A2B3C4D",
            "tables": [{"name": table, "rows": 10_000 * (i + 1) + n, "digest": "0" * 64} for i, table in enumerate(TABLES)],
            "signer": fingerprint, "tool": "pgseal 0.3.0", "tables_sha256": "0" * 64, "duration_seconds": 6.5,
            "chain": {"previous": previous},
        }
        data = (json.dumps(seal, indent=2, sort_keys=True) + "\n").encode()
        with open(path + ".seal", "wb") as f:
            f.write(data)
        to_sign.append(path + ".seal")
        previous = {"object": name, "seal_sha256": hashlib.sha256(data).hexdigest()}
        if n < count // 2:
            note = {"format": "pgseal-tombstone/1", "object": name, "seal_sha256": previous["seal_sha256"],
                    "removed_at": stamp(now, False), "reason": "retention: no rule keeps it", "tool": "pgseal 0.3.0"}
            with open(path + ".tombstone", "w") as f:
                json.dump(note, f)
        else:
            with open(path, "wb") as f:
                f.write(b"placeholder")
        if n % 720 == 719:
            document = {"format": "pgseal-attestation/1", "object": name, "seal_sha256": previous["seal_sha256"], "level": "restore",
                        "result": "verified", "verified_at": stamp(now, False), "duration_seconds": 42.0, "tool": "pgseal 0.3.0",
                        "verifier": verifier_fingerprint, "tables": [], "failures": []}
            apath = f"{path}.attestation.{stamp(now, True)}-restore.json"
            with open(apath, "w") as f:
                json.dump(document, f)
            attestations.append(apath)
    # ssh-keygen -Y sign writes <file>.sig beside each file: the seal's .seal.sig.
    for batch in range(0, len(to_sign), 500):
        subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", os.path.join(keys, "signing-key"), "-n", "pgseal"] + to_sign[batch:batch + 500],
                       check=True, stderr=subprocess.DEVNULL)
    if attestations:
        subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", os.path.join(verifier, "signing-key"), "-n", "pgseal-attestation"] + attestations,
                       check=True, stderr=subprocess.DEVNULL)


def fingerprint(public_key):
    out = subprocess.run(["ssh-keygen", "-l", "-f", public_key], check=True, capture_output=True, text=True).stdout
    return out.split()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--archives", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        keys, verifier = os.path.join(work, "keys"), os.path.join(work, "verifier")
        subprocess.run([PGSEAL, "keygen", "--out", keys, "--signer", "bench"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([PGSEAL, "keygen", "--out", verifier, "--signer", "drill", "--verifier"], check=True, stdout=subprocess.DEVNULL)
        print(f"| archives | seals + notes + attestations (files) | command | wall (s) | archives/s | peak RSS (MiB) |")
        print("|---:|---:|---|---:|---:|---:|")
        for count in (args.archives // 10, args.archives):
            store = os.path.join(work, f"store-{count}")
            make_store(store, count, keys, verifier, fingerprint(os.path.join(keys, "signing-key.pub")),
                       fingerprint(os.path.join(verifier, "signing-key.pub")))
            files = sum(len(names) for _, _, names in os.walk(store))
            trust = ["--trusted-key", os.path.join(keys, "allowed_signers"), "--trusted-verifier", os.path.join(verifier, "allowed_signers")]
            for label, command in [
                ("pgseal chain", [PGSEAL, "chain", store, "--trusted-key", os.path.join(keys, "allowed_signers")]),
                ("pgseal report --html --report", [PGSEAL, "report", store, "--html", os.path.join(work, "r.html"),
                                                    "--report", os.path.join(work, "r.json"), "--expect-every", "1h", "--rpo", "2h"] + trust),
            ]:
                wall, rss = timed(command)
                print(f"| {count:,} | {files:,} | {label} | {wall:.2f} | {count / wall:,.0f} | {rss:.0f} |", flush=True)
            html = os.path.getsize(os.path.join(work, "r.html"))
            print(f"|  |  | (page {html / 1024:.0f} KiB, JSON {os.path.getsize(os.path.join(work, 'r.json')) / 1024 / 1024:.1f} MiB) |  |  |  |")


if __name__ == "__main__":
    main()
