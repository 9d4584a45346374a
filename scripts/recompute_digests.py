#!/usr/bin/env python3
"""Recompute an extracted pgseal archive's chunk hashes, row counts, row hashes and table
digests with nothing but the Python standard library, and compare them with manifest.json.

    zstd -dc X.tar.zst | tar -x -C DIR && recompute_digests.py DIR

For an archive of files (pgseal seal, format pgseal-files/1) it checks every listed file's
kind, permissions, size and SHA-256 (or link target) instead, and that nothing is unlisted.
Exit 0 when everything matches, 1 when anything differs (each difference is printed)."""
import hashlib
import json
import os
import sys


def main(directory):
    with open(os.path.join(directory, "manifest.json"), "rb") as f:
        manifest = json.load(f)
    if manifest.get("format") == "pgseal-files/1":
        return check_files(directory, manifest)
    # Versions 1 and 2 differ only in how some values are encoded, not in chunks or digests.
    if manifest.get("format") not in ("pgseal/1", "pgseal/2"):
        print(f"not a pgseal/1 or pgseal/2 manifest: {manifest.get('format')!r}")
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


def check_files(directory, manifest):
    import stat
    problems = 0
    listed = set()
    kinds = {"file": stat.S_ISREG, "directory": stat.S_ISDIR, "symlink": stat.S_ISLNK}
    for entry in manifest["files"]:
        listed.add(entry["path"])
        path = os.path.join(directory, entry["path"])
        try:
            info = os.lstat(path)
        except OSError as error:
            print(f"{entry['path']!r}: {error.strerror}")
            problems += 1
            continue
        if not kinds[entry["kind"]](info.st_mode):
            print(f"{entry['path']!r}: not a {entry['kind']}")
            problems += 1
            continue
        if entry["kind"] != "symlink" and "0" + format(stat.S_IMODE(info.st_mode), "o") != entry["mode"]:
            print(f"{entry['path']!r}: mode {stat.S_IMODE(info.st_mode):o}, manifest says {entry['mode']}")
            problems += 1
        if entry["kind"] == "file":
            with open(path, "rb") as f:
                data = f.read()
            if len(data) != entry["size"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
                print(f"{entry['path']!r}: size or sha256 differs from the manifest")
                problems += 1
        if entry["kind"] == "symlink" and os.readlink(path) != entry["target"]:
            print(f"{entry['path']!r}: links to {os.readlink(path)!r}, manifest says {entry['target']!r}")
            problems += 1
    for root, dirs, files in os.walk(os.path.join(directory, "files")):
        for name in dirs + files:
            path = os.path.relpath(os.path.join(root, name), directory)
            if path not in listed:
                print(f"{path!r}: not listed in the manifest")
                problems += 1
    print(f"{len(manifest['files'])} entries")
    print("OK" if problems == 0 else f"{problems} problem(s)")
    return 0 if problems == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
