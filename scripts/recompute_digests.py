#!/usr/bin/env python3
"""Recompute an extracted pgseal archive's chunk hashes, row counts, row hashes and table
digests with nothing but the Python standard library, and compare them with manifest.json.

    zstd -dc X.tar.zst | tar -x -C DIR && recompute_digests.py DIR

Exit 0 when everything matches, 1 when anything differs (each difference is printed)."""
import hashlib
import json
import os
import sys


def main(directory):
    with open(os.path.join(directory, "manifest.json"), "rb") as f:
        manifest = json.load(f)
    if manifest.get("format") != "pgseal/1":
        print(f"not a pgseal/1 manifest: {manifest.get('format')!r}")
        return 1
    problems = 0
    listed = set()
    for table in manifest["tables"]:
        name = f"{table['schema']}.{table['name']}"
        digest = hashlib.sha256()
        rows = 0
        for chunk in table["chunks"]:
            listed.add(chunk["path"])
            with open(os.path.join(directory, chunk["path"]), "rb") as f:
                data = f.read()
            if len(data) != chunk["bytes"]:
                print(f"{chunk['path']}: {len(data)} bytes, manifest says {chunk['bytes']}")
                problems += 1
            if hashlib.sha256(data).hexdigest() != chunk["sha256"]:
                print(f"{chunk['path']}: sha256 differs from the manifest")
                problems += 1
            if data and not data.endswith(b"\n"):
                print(f"{chunk['path']}: does not end with a newline")
                problems += 1
            lines = data.split(b"\n")[:-1]
            if len(lines) != chunk["rows"]:
                print(f"{chunk['path']}: {len(lines)} rows, manifest says {chunk['rows']}")
                problems += 1
            for number, line in enumerate(lines, 1):
                try:
                    json.loads(line)
                except ValueError as error:
                    print(f"{chunk['path']}:{number}: not valid JSON: {error}")
                    problems += 1
                digest.update(hashlib.sha256(line).hexdigest().encode() + b"\n")
                rows += 1
        if rows != table["rows"]:
            print(f"{name}: {rows} rows, manifest says {table['rows']}")
            problems += 1
        if digest.hexdigest() != table["digest"]:
            print(f"{name}: table digest {digest.hexdigest()} differs from the manifest's {table['digest']}")
            problems += 1
        print(f"{name}: {rows} rows, digest {digest.hexdigest()}")
    for root, _, files in os.walk(os.path.join(directory, "data")):
        for file in files:
            path = os.path.relpath(os.path.join(root, file), directory)
            if path not in listed:
                print(f"{path}: not listed in the manifest")
                problems += 1
    print("OK" if problems == 0 else f"{problems} problem(s)")
    return 0 if problems == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
