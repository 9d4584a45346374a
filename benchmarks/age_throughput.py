#!/usr/bin/env python3
"""pgseal's age encryption and decryption against the age tool, side by side in one run on the
same input (default 1 GiB of random bytes), writing to /dev/null so that the disk does not
count. Median of ROUNDS; throughput in MB/s; ratio = pgseal's throughput / age's.

    benchmarks/age_throughput.py [--size-mib 1024] [--rounds 3]"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PGSEAL = os.path.join(ROOT, ".build", "release", "pgseal")


def timed(argv, stdout=subprocess.DEVNULL):
    started = time.monotonic()
    subprocess.run(argv, check=True, stdout=stdout)
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="pgseal-age-bench.")
    try:
        subprocess.run([PGSEAL, "keygen", "--out", work + "/keys"], check=True, stdout=subprocess.DEVNULL)
        identity = work + "/keys/age-identity.txt"
        recipient = open(work + "/keys/age-recipient.txt").read().strip()
        plain = work + "/plain"
        with open(plain, "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1 << 20))
        with open(work + "/by-age.age", "wb") as out:
            subprocess.run(["age", "-r", recipient, plain], check=True, stdout=out)
        with open(work + "/by-pgseal.age", "wb") as out:
            subprocess.run([PGSEAL, "encrypt", "-r", recipient, plain], check=True, stdout=out)
        variants = {
            "encrypt: age -r": ["age", "-r", recipient, plain],
            "encrypt: pgseal encrypt -r": [PGSEAL, "encrypt", "-r", recipient, plain],
            "decrypt: age -d": ["age", "-d", "-i", identity, work + "/by-age.age"],
            "decrypt: pgseal decrypt": [PGSEAL, "decrypt", "-i", identity, work + "/by-age.age"],
        }
        results = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, argv in variants.items():
                results[name].append(timed(argv))
        size = args.size_mib * (1 << 20)
        print(f"\n{args.size_mib} MiB of random bytes, {args.rounds} rounds, median, output to /dev/null\n")
        print("| command | seconds | MB/s | vs age |")
        print("|---|---:|---:|---:|")
        medians = {name: statistics.median(samples) for name, samples in results.items()}
        for name, seconds in medians.items():
            peer = medians["encrypt: age -r"] if name.startswith("encrypt") else medians["decrypt: age -d"]
            print(f"| {name} | {seconds:.2f} | {size / seconds / 1e6:.0f} | {peer / seconds:.2f}x |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
