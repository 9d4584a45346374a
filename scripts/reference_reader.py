#!/usr/bin/env python3
"""An independent reader of pgseal archives of tables, written from docs/FORMAT.md alone.

Python's standard library plus the tools an auditor already trusts: ssh-keygen (the seal's
SSHSIG signature), age (decryption), zstd or gzip (decompression). It shares no code with
pgseal, so that where the two agree on a verdict the format, not one implementation, decides.

    reference_reader.py ARCHIVE --allowed-signers F [--identity F] [--json]

Checks, in FORMAT.md's order: the seal's signature (namespace pgseal) by a key of
allowed_signers (§7); the seal's object name, size and SHA-256 (§7); tables.json first and its
SHA-256 against `tables_sha256` (§4.1); every chunk's size, SHA-256 and row count, each line
valid JSON with the declared columns in order, keys strictly ascending where §3.2 says a reader
MUST check them, each chunk's first and last key (§4); each table's row count and digest (§3.2),
against the manifest and the seal; manifest.json last, its SHA-256 against the seal, its
tables the same as tables.json's, the chunk set the tar's data/ entries (§2, §4).

Exit 0 with "ok", 1 with each failure on a line of its own ("FAIL <where>: <what>"), 2 when the
archive could not be read at all (a missing tool, a missing file).
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile

SEAL_FORMATS = {"pgseal-seal/1"}
MANIFEST_FORMATS = {"pgseal/1", "pgseal/2"}
CHUNK = re.compile(r"^data/([^/]+)/(\d{6})\.jsonl$")
EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()


class Unreadable(Exception):
    """The archive could not be read at all (exit 2)."""


class Verdict:
    def __init__(self):
        self.failures = []
        self.notes = []

    def fail(self, where, what):
        self.failures.append(f"FAIL {where}: {what}")

    @property
    def ok(self):
        return not self.failures


def sha256_file(path):
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def check_signature(seal_path, allowed_signers, verdict):
    """§7: an SSHSIG signature of the seal's bytes, namespace pgseal, by an allowed signer."""
    sig = seal_path + ".sig"
    if not os.path.exists(sig):
        verdict.fail("seal.sig", "missing: an archive without a signed seal is not an archive")
        return False
    found = subprocess.run(["ssh-keygen", "-Y", "find-principals", "-f", allowed_signers, "-s", sig],
                           capture_output=True, text=True)
    principals = [p for p in found.stdout.split() if p]
    if found.returncode != 0 or not principals:
        verdict.fail("seal.sig", "signed by no key of allowed_signers")
        return False
    with open(seal_path, "rb") as seal:
        checked = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", allowed_signers, "-I", principals[0], "-n", "pgseal", "-s", sig],
                                 stdin=seal, capture_output=True, text=True)
    if checked.returncode != 0:
        verdict.fail("seal.sig", "the signature does not verify: " + (checked.stderr.strip() or checked.stdout.strip()))
        return False
    return True


def plaintext_stream(archive, seal, identity):
    """The tar stream: the object decrypted (age) and decompressed as its suffix says (§1)."""
    name = os.path.basename(archive)
    stages = []
    if name.endswith(".age"):
        if not identity:
            raise Unreadable("the archive is encrypted: give --identity")
        stages.append(["age", "-d", "-i", identity, archive])
        name = name[:-4]
    else:
        stages.append(["cat", archive])
    if name.endswith(".zst"):
        stages.append(["zstd", "-d", "-q", "-c"])
    elif name.endswith(".gz"):
        stages.append(["gzip", "-d", "-c"])
    elif not name.endswith(".tar"):
        raise Unreadable(f"{name}: not a name of an archive (.tar, then .zst or .gz, then .age)")
    processes = []
    previous = None
    for stage in stages:
        process = subprocess.Popen(stage, stdin=previous, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if previous is not None:
            previous.close()
        previous = process.stdout
        processes.append(process)
    return previous, processes


def key_kind(column):
    """§3.2: the key columns whose order a reader without a server MUST check."""
    if column.get("encoding") == "integer":
        return "integer"
    declared = column.get("type", "")
    if column.get("encoding") == "text" and (declared in ("text", "uuid") or declared.startswith("character varying")):
        return "text"
    return None


def comparable(value, kind):
    if kind == "integer":
        return (0, value) if isinstance(value, int) else (1, 0)
    return (0, value.encode("utf-8")) if isinstance(value, str) else (1, b"")


class TableState:
    def __init__(self, definition):
        self.definition = definition
        self.columns = [c["name"] for c in definition["columns"]]
        positions = {name: i for i, name in enumerate(self.columns)}
        self.key = definition.get("key") or []
        self.key_positions = [positions.get(k) for k in self.key]
        kinds = [key_kind(definition["columns"][p]) if p is not None else None for p in self.key_positions]
        self.checked_order = bool(self.key) and all(kinds)
        self.kinds = kinds
        self.hashes = hashlib.sha256()
        self.rows = 0
        self.previous_key = None
        self.chunks = {}


def read_chunk(table, path, member_bytes, verdict):
    """One chunk's lines: JSON objects with the declared columns in order, keys ascending."""
    rows, first_key, last_key = 0, None, None
    if member_bytes and not member_bytes.endswith(b"\n"):
        verdict.fail(path, "the last line has no newline: the chunk was cut")
    for number, line in enumerate(member_bytes.split(b"\n")[:-1] if member_bytes else [], start=1):
        rows += 1
        table.rows += 1
        table.hashes.update(hashlib.sha256(line).hexdigest().encode() + b"\n")
        try:
            row = json.loads(line.decode("utf-8"), object_pairs_hook=lambda pairs: pairs)
        except (UnicodeDecodeError, ValueError) as error:
            verdict.fail(f"{path}:{number}", f"not a JSON row: {error}")
            continue
        if not isinstance(row, list) or [name for name, _ in row] != table.columns:
            verdict.fail(f"{path}:{number}", "not an object of the declared columns in order")
            continue
        values = [value for _, value in row]
        key = [values[p] for p in table.key_positions if p is not None]
        if first_key is None:
            first_key = key
        last_key = key
        if table.checked_order and table.previous_key is not None:
            now = [comparable(v, k) for v, k in zip(key, table.kinds)]
            before = [comparable(v, k) for v, k in zip(table.previous_key, table.kinds)]
            if not now > before:
                verdict.fail(f"{path}:{number}", f"key {json.dumps(key)} does not follow {json.dumps(table.previous_key)}: a duplicate or a row out of key order")
        table.previous_key = key
    return rows, first_key, last_key


def read(archive, allowed_signers, identity):
    verdict = Verdict()
    seal_path = archive + ".seal"
    if not os.path.exists(archive) or not os.path.exists(seal_path):
        raise Unreadable(f"{archive} or its .seal is missing")
    if not check_signature(seal_path, allowed_signers, verdict):
        return verdict
    with open(seal_path, "rb") as f:
        seal_bytes = f.read()
    try:
        seal = json.loads(seal_bytes)
    except ValueError as error:
        verdict.fail("seal", f"not JSON: {error}")
        return verdict
    if seal.get("format") not in SEAL_FORMATS:
        verdict.fail("seal", f"format {seal.get('format')!r} is not one this reader knows")
        return verdict
    if seal.get("object") != os.path.basename(archive):
        verdict.fail("seal", f"it seals {seal.get('object')!r}, not {os.path.basename(archive)!r}")
    size, digest = sha256_file(archive)
    if size != seal.get("size") or digest != seal.get("sha256"):
        verdict.fail("object", f"{size} bytes, SHA-256 {digest}; the seal says {seal.get('size')} bytes, {seal.get('sha256')}")
        return verdict
    if seal.get("contents") == "files" or seal.get("parts"):
        raise Unreadable("an archive of files or a partitioned archive: this reader reads archives of tables")

    stream, processes = plaintext_stream(archive, seal, identity)
    tables, chunk_paths, manifest, manifest_bytes, first = {}, [], None, None, True
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                if manifest is not None:
                    verdict.fail(member.name, "an entry after manifest.json, which is the last")
                    break
                if not member.isfile():
                    verdict.fail(member.name, "not a regular file")
                    continue
                data = tar.extractfile(member).read()
                if first:
                    first = False
                    if member.name != "tables.json":
                        verdict.fail(member.name, "the first entry is not tables.json")
                        return verdict
                    if seal.get("tables_sha256") is not None and hashlib.sha256(data).hexdigest() != seal["tables_sha256"]:
                        verdict.fail("tables.json", "its SHA-256 is not the seal's tables_sha256")
                        return verdict
                    for definition in json.loads(data)["tables"]:
                        tables[f"{definition['schema']}.{definition['name']}"] = TableState(definition)
                    continue
                if member.name == "manifest.json":
                    manifest_bytes = data
                    manifest = json.loads(data)
                    continue
                match = CHUNK.match(member.name)
                if not match or match.group(1) not in tables:
                    verdict.fail(member.name, "not a chunk of a table tables.json defines")
                    continue
                table = tables[match.group(1)]
                rows, first_key, last_key = read_chunk(table, member.name, data, verdict)
                table.chunks[member.name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "rows": rows,
                                             "first_key": first_key or [], "last_key": last_key or []}
                chunk_paths.append(member.name)
    except (tarfile.TarError, OSError, ValueError, KeyError) as error:
        verdict.fail("tar", f"the stream cannot be read: {error}")
        return verdict
    finally:
        stream.close()
        errors = [p.stderr.read().decode(errors="replace").strip() for p in processes if p.wait() != 0]
    if errors:
        verdict.fail("object", "decryption or decompression failed: " + "; ".join(errors))
        return verdict
    if manifest is None:
        verdict.fail("manifest.json", "missing: the archive is incomplete")
        return verdict
    if hashlib.sha256(manifest_bytes).hexdigest() != seal.get("manifest_sha256"):
        verdict.fail("manifest.json", "its SHA-256 is not the seal's manifest_sha256")
    if manifest.get("format") not in MANIFEST_FORMATS:
        verdict.fail("manifest.json", f"format {manifest.get('format')!r} is not one this reader knows")
    listed = set()
    sealed = {t["name"]: t for t in seal.get("tables", [])}
    for entry in manifest.get("tables", []):
        name = f"{entry['schema']}.{entry['name']}"
        table = tables.get(name)
        if table is None:
            verdict.fail(name, "in the manifest, not in tables.json")
            continue
        for member in ("columns", "key", "filter"):
            if entry.get(member) != table.definition.get(member):
                verdict.fail(name, f"its {member} in tables.json is not the manifest's")
        for chunk in entry.get("chunks", []):
            listed.add(chunk["path"])
            seen = table.chunks.get(chunk["path"])
            if seen is None:
                verdict.fail(chunk["path"], "listed in the manifest, not in the archive")
                continue
            for member in ("bytes", "sha256", "rows", "first_key", "last_key"):
                if chunk.get(member) != seen[member]:
                    verdict.fail(chunk["path"], f"its {member} differs from the manifest ({seen[member]!r} read, {chunk.get(member)!r} listed)")
        table_digest = table.hashes.hexdigest()
        if entry.get("rows") != table.rows or entry.get("digest") != table_digest:
            verdict.fail(name, f"{table.rows} rows, digest {table_digest}; the manifest says {entry.get('rows')}, {entry.get('digest')}")
        if sealed.get(name, {}).get("rows") != table.rows or sealed.get(name, {}).get("digest") != table_digest:
            verdict.fail(name, "its rows or digest are not the seal's")
        if table.key and not table.checked_order:
            verdict.notes.append(f"{name}: the order of its key follows the server's rules for its types (FORMAT.md §3.2): not checked here")
    for path in chunk_paths:
        if path not in listed:
            verdict.fail(path, "in the archive, not listed in the manifest")
    if set(sealed) != {f"{t['schema']}.{t['name']}" for t in manifest.get("tables", [])}:
        verdict.fail("seal", "its tables are not the manifest's")
    return verdict


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive")
    parser.add_argument("--allowed-signers", required=True)
    parser.add_argument("--identity")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    try:
        verdict = read(args.archive, args.allowed_signers, args.identity)
    except (Unreadable, FileNotFoundError) as error:
        print(f"cannot read: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"ok": verdict.ok, "failures": verdict.failures, "notes": verdict.notes}))
    else:
        print("\n".join(verdict.failures + [f"note: {n}" for n in verdict.notes] + (["ok"] if verdict.ok else [])))
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
