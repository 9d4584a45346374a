#!/usr/bin/env python3
"""An independent reader of pgseal archives, written from docs/FORMAT.md alone.

Python's standard library plus the tools an auditor already trusts: ssh-keygen (the seal's
SSHSIG signature), age (decryption), zstd or gzip (decompression). It shares no code with
pgseal, so that where the two agree on a verdict the format, not one implementation, decides.

    reference_reader.py ARCHIVE --allowed-signers F [--identity F] [--json]
    reference_reader.py --series STORE --profile P --allowed-signers F [--allowed-verifiers F] [--json]
    reference_reader.py --series STORE --profile P --allowed-signers F --identity F --replay BASE [--until-archive LATER]

An archive of tables, checked in FORMAT.md's order: the seal's signature (namespace pgseal) by a key of
allowed_signers (§7); the seal's object name, size and SHA-256 (§7); tables.json first and its
SHA-256 against `tables_sha256` (§4.1); every chunk's size, SHA-256 and row count, each line
valid JSON with the declared columns in order, each value of its column's encoding and the line
the canonical spelling of its values (§3.1), keys strictly ascending where §3.2 says a reader
MUST check them, each chunk's first and last key (§4); each table's row count and digest (§3.2),
against the manifest and the seal; manifest.json last, its SHA-256 against the seal, its
tables the same as tables.json's, the chunk set the tar's data/ entries (§2, §4) — within §9's
bounds (the tar stream, each line, each metadata entry). An archive of files: its entries
against its manifest (§8). A partitioned archive: its seal's own rules (§10.2), then each part
as the archive it is, its element of `parts` standing for its seal. A series (--series): each
seal's signature, each link, tombstones and objects (§7.1, §7.2), and the attestations it can
believe (§7.3), each printed as "attested LEVEL OBJECT"; the profile's change segments' seals
(§11.6: signature, link, base, range). With --replay BASE: the base read whole, then each
segment of its own chain — the object against its seal, tables.json, every change line (§11.4:
members, canonical spelling, encodings, key, commit order, range), the chunks against the
manifest, the seal's counts against the lines — replayed onto the base's rows in memory, where
an insert of a key present or an update or delete of one absent is a break; with --until-archive
LATER, up to just before LATER's exact position, and each of LATER's tables must then hold the
rows and digest LATER's seal states (§11.5, continuity). (Meant for vectors
and audits of modest tables: the rows are held in memory. A chain adopted by an exact base,
§11.5, is not read.)

Exit 0 with "ok", 1 with each failure on a line of its own ("FAIL <where>: <what>"), 2 when the
archive could not be read at all (a missing tool, a missing file, a format this reader does not
know).
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import tarfile
import tempfile

SEAL_FORMATS = {"pgseal-seal/1"}
PARTITIONED_SEAL = "pgseal-seal/2"
MANIFEST_FORMATS = {"pgseal/1", "pgseal/2"}
FILES_FORMAT = "pgseal-files/1"
CHUNK = re.compile(r"^data/([^/]+)/(\d{6})\.jsonl$")
ARCHIVE_NAME = re.compile(r"^(?P<stem>.+-\d{8}T\d{6}Z(?:-[0-9a-f]{8})?)(?P<suffix>\.tar(?:\.zst|\.gz)?(?:\.age)?)$")
# §9's bounds, as pgseal holds them.
MAX_LINE = 64 << 20
MAX_METADATA = 32 << 20
MAX_SEAL = 1 << 20
MAX_SIGNATURE = 64 << 10
MAX_ATTESTATIONS = 64
INT64_MAX = (1 << 63) - 1
BLOCK = 1 << 20


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


def signature_problem(path, allowed_signers, namespace):
    """§7, §7.3: why the SSHSIG signature `path`.sig of `path`'s bytes, in `namespace`, by a key
    of allowed_signers, does not hold — or None when it does."""
    sig = path + ".sig"
    if not os.path.exists(sig):
        return "no signature beside it"
    if os.path.getsize(sig) > MAX_SIGNATURE or os.path.getsize(path) > MAX_SEAL:
        return "larger than a seal or a signature may be"
    found = subprocess.run(["ssh-keygen", "-Y", "find-principals", "-f", allowed_signers, "-s", sig, "-n", namespace],
                           capture_output=True, text=True)
    principals = [p for p in found.stdout.split() if p]
    if found.returncode != 0 or not principals:
        return f"signed by no key of the allowed signers for namespace {namespace}"
    with open(path, "rb") as signed:
        checked = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", allowed_signers, "-I", principals[0], "-n", namespace, "-s", sig],
                                 stdin=signed, capture_output=True, text=True)
    if checked.returncode != 0:
        return "the signature does not verify: " + (checked.stderr.strip() or checked.stdout.strip())
    return None


def check_signature(seal_path, allowed_signers, verdict):
    """§7: an SSHSIG signature of the seal's bytes, namespace pgseal, by an allowed signer."""
    problem = signature_problem(seal_path, allowed_signers, "pgseal")
    if problem:
        verdict.fail("seal.sig", problem + " (an archive without a valid signed seal is not an archive)")
    return problem is None


def signer_fingerprint(sig_path):
    """The SHA256:… fingerprint of the key inside an SSHSIG signature (its public key blob)."""
    text = open(sig_path, encoding="ascii", errors="replace").read()
    body = "".join(line for line in text.splitlines() if line and not line.startswith("-----"))
    blob = base64.b64decode(body, validate=False)
    if blob[:6] != b"SSHSIG" or len(blob) < 14:
        return None
    length = struct.unpack(">I", blob[10:14])[0]
    key = blob[14:14 + length]
    return "SHA256:" + base64.b64encode(hashlib.sha256(key).digest()).decode().rstrip("=")


def plaintext_stream(archive, identity):
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


class Number(str):
    """A JSON number's own text: read as text, so that no digit is lost or respelled."""


class Obj(list):
    """A JSON object as its members in order (duplicates kept)."""


INTEGER = re.compile(r"-?(0|[1-9][0-9]*)\Z")
NUMERIC = re.compile(r"(-?(0|[1-9][0-9]*)(\.[0-9]+)?|NaN|Infinity|-Infinity)\Z")
TIMESTAMPTZ = re.compile(r"(?P<year>-?[0-9]{4,7})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
                         r"(\.[0-9]{0,5}[1-9])?Z\Z")


def value_problem(value, encoding, depth=0):
    """§3.1: why `value` is not one the column's encoding writes, or None."""
    if value is None:
        return None
    if encoding == "integer":
        return None if isinstance(value, Number) and INTEGER.match(value) else "not an integer"
    if encoding == "float":
        return None if isinstance(value, Number) or value in ("NaN", "Infinity", "-Infinity") else "not a float"
    if encoding == "numeric":
        return None if type(value) is str and NUMERIC.match(value) else "not a numeric's text"
    if encoding == "boolean":
        return None if isinstance(value, bool) else "not true or false"
    if encoding == "timestamptz":
        if value in ("infinity", "-infinity"):
            return None
        stamp = TIMESTAMPTZ.match(value) if type(value) is str else None
        if not stamp:
            return "not an RFC 3339 UTC time as the exporter writes it"
        year = stamp.group("year").lstrip("-")
        fields_ok = (1 <= int(stamp.group("month")) <= 12 and 1 <= int(stamp.group("day")) <= 31 and int(stamp.group("hour")) <= 23
                     and int(stamp.group("minute")) <= 59 and int(stamp.group("second")) <= 59)
        minimal = (len(year) == 4 or not year.startswith("0")) and stamp.group("year") != "-0000"
        return None if fields_ok and minimal else "not an RFC 3339 UTC time as the exporter writes it"
    if encoding in ("text", "json-text", "array-text"):
        return None if type(value) is str else "not a string"
    if encoding == "json":
        return None
    if encoding.startswith("array:"):
        if depth >= 6 or not isinstance(value, list) or isinstance(value, Obj):
            return "not an array of at most 6 dimensions"
        for element in value:
            problem = value_problem(element, encoding, depth + 1) if isinstance(element, list) and not isinstance(element, Obj) \
                else value_problem(element, encoding[len("array:"):])
            if problem:
                return problem
        return None
    return f"an encoding this reader does not know: {encoding}"


def parse_line(line):
    """A line's JSON as text-preserving values (Number, Obj); ValueError for anything else
    (invalid UTF-8, NaN and Infinity, which are not JSON)."""
    return json.loads(line.decode("utf-8"), object_pairs_hook=Obj, parse_float=Number, parse_int=Number,
                      parse_constant=lambda word: (_ for _ in ()).throw(ValueError(f"{word} is not JSON")))


def canonical(value):
    """§3.1's serialisation of a decoded value: no white space, minimal escaping."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, Number):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Obj):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical(v) for k, v in value) + "}"
    return "[" + ",".join(canonical(v) for v in value) + "]"


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
        return (0, int(value)) if isinstance(value, Number) and INTEGER.match(value) else (1, 0)
    return (0, value.encode("utf-8")) if isinstance(value, str) else (1, b"")


class TableState:
    def __init__(self, definition):
        self.definition = definition
        self.columns = [c["name"] for c in definition["columns"]]
        self.encodings = [c.get("encoding", "") for c in definition["columns"]]
        self.embeds_json = any(e == "json" or e == "array:json" for e in self.encodings)
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
        # With a replay (§11.4): the rows by their key's canonical text, as the base holds them.
        self.kept = None


def lines_of(fileobj, path, verdict):
    """The lines of an entry, read a block at a time, each at most MAX_LINE bytes (§9); the
    entry's size and SHA-256 as a side effect, in `hashed`."""
    hashed = {"bytes": 0, "sha256": hashlib.sha256(), "cut": False}
    pending = b""
    while True:
        block = fileobj.read(BLOCK)
        if not block:
            break
        hashed["bytes"] += len(block)
        hashed["sha256"].update(block)
        pending += block
        *complete, pending = pending.split(b"\n")
        for line in complete:
            if len(line) > MAX_LINE:
                break
            yield line, hashed
        if len(pending) > MAX_LINE or any(len(line) > MAX_LINE for line in complete):
            verdict.fail(path, f"a line longer than {MAX_LINE} bytes, the bound on a line")
            hashed["cut"] = True
            return
    if pending:
        verdict.fail(path, "the last line has no newline: the chunk was cut")
    yield None, hashed


def read_chunk(table, path, fileobj, verdict):
    """One chunk's lines: JSON objects with the declared columns in order, keys ascending."""
    rows, first_key, last_key, hashed = 0, None, None, None
    for line, hashed in lines_of(fileobj, path, verdict):
        if line is None:
            break
        rows += 1
        number = rows
        table.rows += 1
        table.hashes.update(hashlib.sha256(line).hexdigest().encode() + b"\n")
        try:
            row = parse_line(line)
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            verdict.fail(f"{path}:{number}", f"not a JSON row: {error}")
            continue
        if not isinstance(row, Obj) or [name for name, _ in row] != table.columns:
            verdict.fail(f"{path}:{number}", "not an object of the declared columns in order")
            continue
        values = [value for _, value in row]
        problems = [f"{name}: {p}" for (name, value), encoding in zip(row, table.encodings) if (p := value_problem(value, encoding))]
        if problems:
            verdict.fail(f"{path}:{number}", "a value not of its column's encoding (§3.1): " + "; ".join(problems))
            continue
        # One spelling per row (§3.1): the line is its values written canonically. A pgseal/1
        # json value keeps its own string escapes, so such rows are held to the grammar only.
        if not table.embeds_json:
            try:
                spelled = canonical(row).encode("utf-8")
            except UnicodeEncodeError:
                spelled = None
            if spelled != line:
                verdict.fail(f"{path}:{number}", "not the canonical spelling of its values (§3.1: no white space, minimal escaping, valid UTF-8 without lone surrogates)")
                continue
        key = [values[p] for p in table.key_positions if p is not None]
        if table.kept is not None:
            table.kept[canonical(key)] = row
        if first_key is None:
            first_key = key
        last_key = key
        if table.checked_order and table.previous_key is not None:
            now = [comparable(v, k) for v, k in zip(key, table.kinds)]
            before = [comparable(v, k) for v, k in zip(table.previous_key, table.kinds)]
            if not now > before:
                verdict.fail(f"{path}:{number}", f"key {json.dumps(key)} does not follow {json.dumps(table.previous_key)}: a duplicate or a row out of key order")
        table.previous_key = key
    if hashed is None or hashed["cut"]:
        return None
    return {"bytes": hashed["bytes"], "sha256": hashed["sha256"].hexdigest(), "rows": rows, "first_key": first_key or [], "last_key": last_key or []}


class Stream:
    """The object's tar stream (§1, §2), its processes and the bound on what it may expand to."""

    def __init__(self, path, identity, sealed_size):
        self.stream, self.processes = plaintext_stream(path, identity)
        self.bound = max(1 << 30, 1000 * sealed_size)
        self.taken = 0

    def members(self, tar, verdict):
        """The tar's entries within the bounds, up to manifest.json, which must be the last (§2)."""
        after_manifest = False
        for member in tar:
            if not self.admits(member, verdict):
                return
            if after_manifest:
                verdict.fail(member.name, "an entry after manifest.json, which is the last")
                return
            after_manifest = member.name == "manifest.json" and member.isfile()
            yield member

    def admits(self, member, verdict):
        """§9: each entry's header is charged against the bound before its data is read."""
        self.taken += 512 + member.size
        if self.taken > self.bound:
            verdict.fail(member.name, f"takes the tar stream past {self.bound} bytes, more than the object may expand to")
            return False
        if member.name in ("tables.json", "manifest.json") and member.size > MAX_METADATA:
            verdict.fail(member.name, f"{member.size} bytes, past the bound on a metadata entry ({MAX_METADATA})")
            return False
        return True

    def close(self, verdict):
        self.stream.close()
        errors = [p.stderr.read().decode(errors="replace").strip() for p in self.processes if p.wait() != 0]
        # A reader that stopped early closes the pipe under the tools: only a clean read's
        # errors are the object's.
        if errors and verdict.ok:
            verdict.fail("object", "decryption or decompression failed: " + "; ".join(errors))


def same_member(member, read, listed):
    """A chunk's member as read and as the manifest lists it; keys compared as JSON texts, so
    that a number's spelling is judged, not its value as a float."""
    if member not in ("first_key", "last_key"):
        return read == listed
    try:
        return canonical(read) == canonical(json.loads(json.dumps(listed), object_pairs_hook=Obj, parse_float=Number, parse_int=Number))
    except (TypeError, ValueError):
        return False


def sealed_manifest(manifest_bytes, seal, formats, verdict):
    """manifest.json once the tar is read: present, the seal's, of a format this reader knows
    (None, with the failure, otherwise)."""
    if manifest_bytes is None:
        if verdict.ok:
            verdict.fail("manifest.json", "missing: the archive is incomplete")
        return None
    if hashlib.sha256(manifest_bytes).hexdigest() != seal.get("manifest_sha256"):
        verdict.fail("manifest.json", "its SHA-256 is not the seal's manifest_sha256")
        return None
    manifest = json.loads(manifest_bytes)
    if manifest.get("format") not in formats:
        raise Unreadable(f"manifest.json declares format {manifest.get('format')!r}, not one this reader knows")
    return manifest


def read_tables(path, seal, identity, verdict, keep=None):
    stream = Stream(path, identity, seal.get("size", 0))
    tables, chunk_paths, manifest_bytes, first = {}, [], None, True
    try:
        with tarfile.open(fileobj=stream.stream, mode="r|") as tar:
            for member in stream.members(tar, verdict):
                if not member.isfile():
                    verdict.fail(member.name, "not a regular file")
                    continue
                if first:
                    first = False
                    data = tar.extractfile(member).read()
                    if member.name != "tables.json":
                        verdict.fail(member.name, "the first entry is not tables.json")
                        return
                    if seal.get("tables_sha256") is not None and hashlib.sha256(data).hexdigest() != seal["tables_sha256"]:
                        verdict.fail("tables.json", "its SHA-256 is not the seal's tables_sha256")
                        return
                    definitions = json.loads(data)
                    if definitions.get("format") not in MANIFEST_FORMATS:
                        raise Unreadable(f"tables.json declares format {definitions.get('format')!r}, not one this reader knows")
                    for definition in definitions["tables"]:
                        name = f"{definition['schema']}.{definition['name']}"
                        tables[name] = TableState(definition)
                        if keep is not None:
                            tables[name].kept, keep[name] = {}, tables[name]
                    continue
                if member.name == "manifest.json":
                    manifest_bytes = tar.extractfile(member).read()
                    continue
                match = CHUNK.match(member.name)
                if not match or match.group(1) not in tables:
                    verdict.fail(member.name, "not a chunk of a table tables.json defines")
                    continue
                table = tables[match.group(1)]
                seen = read_chunk(table, member.name, tar.extractfile(member), verdict)
                if seen is None:
                    break
                table.chunks[member.name] = seen
                chunk_paths.append(member.name)
    except (tarfile.TarError, OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        verdict.fail("tar", f"the stream cannot be read: {error}")
        return
    finally:
        stream.close(verdict)
    manifest = sealed_manifest(manifest_bytes, seal, MANIFEST_FORMATS, verdict)
    if manifest is None:
        return
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
                if not same_member(member, seen[member], chunk.get(member)):
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


def read_files(path, seal, identity, verdict):
    """§8: every entry under files/ as the manifest lists it, each listed entry there once."""
    stream = Stream(path, identity, seal.get("size", 0))
    found, manifest_bytes = [], None
    kinds = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.DIRTYPE: "directory", tarfile.SYMTYPE: "symlink"}
    try:
        with tarfile.open(fileobj=stream.stream, mode="r|") as tar:
            for member in stream.members(tar, verdict):
                if member.name == "manifest.json" and member.isfile():
                    manifest_bytes = tar.extractfile(member).read()
                    continue
                name = member.name.rstrip("/")
                kind = kinds.get(member.type)
                if not name.startswith("files/") or kind is None:
                    verdict.fail(name, "not an entry of an archive of files (a file, directory or link under files/)")
                    continue
                entry = {"path": name, "kind": kind, "mode": "%04o" % (member.mode & 0o7777), "size": member.size if kind == "file" else 0}
                if kind == "file":
                    digest, reader = hashlib.sha256(), tar.extractfile(member)
                    for block in iter(lambda: reader.read(BLOCK), b""):
                        digest.update(block)
                    entry["sha256"] = digest.hexdigest()
                if kind == "symlink":
                    entry["target"] = member.linkname
                found.append(entry)
    except (tarfile.TarError, OSError, ValueError) as error:
        verdict.fail("tar", f"the stream cannot be read: {error}")
        return
    finally:
        stream.close(verdict)
    manifest = sealed_manifest(manifest_bytes, seal, {FILES_FORMAT}, verdict)
    if manifest is None:
        return
    listed = {}
    for element in manifest.get("files", []):
        if element.get("path") in listed:
            verdict.fail(element.get("path"), "listed twice in the manifest")
        listed[element.get("path")] = element
    seen = set()
    for entry in found:
        element = listed.get(entry["path"])
        if element is None:
            verdict.fail(entry["path"], "in the archive, not listed in the manifest")
            continue
        if entry["path"] in seen:
            verdict.fail(entry["path"], "in the archive twice")
        seen.add(entry["path"])
        for member in ("kind", "mode", "size", "sha256", "target"):
            if member in entry and entry[member] != element.get(member):
                verdict.fail(entry["path"], f"its {member} is {entry[member]!r}; the manifest says {element.get(member)!r}")
    for name in listed:
        if name not in seen:
            verdict.fail(name, "listed in the manifest, not in the archive")
    if seal.get("files") != len(listed):
        verdict.fail("files", f"the seal counts {seal.get('files')!r} files; the manifest lists {len(listed)}")


def list_digest(items):
    """§10.2's L(x1, …, xn): the SHA-256 of the lines x1 … xn, each ended by a line feed."""
    return hashlib.sha256("".join(f"{x}\n" for x in items).encode()).hexdigest()


def range_problem(ranges):
    """§10.2 rule 3, for one table's ranges in part order."""
    if len(ranges) == 1:
        whole = ranges[0]
        return None if whole == {"column": None, "from": None, "to": None} else "held by one part, with less than the whole range"
    columns = {r.get("column") for r in ranges}
    if len(columns) != 1 or None in columns:
        return "its ranges are not on one key column"
    if ranges[0].get("from") is not None or ranges[-1].get("to") is not None:
        return "its ranges do not start and end open"
    for before, after in zip(ranges, ranges[1:]):
        if before.get("to") is None or before.get("to") != after.get("from"):
            return f"a gap or an overlap between {before.get('to')!r} and {after.get('from')!r}"
    return None


def read_partitioned(archive, seal, identity, verdict):
    """§10.2: the seal's rules, from the seal alone; then each part, its element of `parts`
    standing for its seal."""
    parts = seal.get("parts")
    if not isinstance(parts, list) or not 1 <= len(parts) <= 1024:
        verdict.fail("seal", "a partitioned seal without 1 to 1,024 parts")
        return
    name = os.path.basename(archive)
    if seal.get("object") != name:
        verdict.fail("seal", f"it seals {seal.get('object')!r}, not {name!r}")
    total = sum(p.get("size", 0) for p in parts)
    if total > INT64_MAX or total != seal.get("size"):
        verdict.fail("size", f"the seal's size {seal.get('size')} is not the sum of its parts' ({total})")
    if seal.get("sha256") != list_digest(f"{p.get('sha256')}  {p.get('object')}" for p in parts):
        verdict.fail("sha256", "the seal's sha256 is not L of its parts' SHA-256 and names")
    if seal.get("manifest_sha256") != list_digest(p.get("manifest_sha256") for p in parts):
        verdict.fail("manifest_sha256", "the seal's manifest_sha256 is not L of its parts' manifest_sha256")
    objects = set()
    for part in parts:
        if part.get("object") in objects:
            verdict.fail(part.get("object"), "two parts have this object")
        objects.add(part.get("object"))
    sealed_names = {t.get("name") for t in seal.get("tables", [])}
    for part in parts:
        for table in part.get("tables", []):
            if table.get("name") not in sealed_names:
                verdict.fail(table.get("name"), "a part holds it; the seal's tables do not list it")
    for table in seal.get("tables", []):
        pieces = [t for p in parts for t in p.get("tables", []) if t.get("name") == table.get("name")]
        if not pieces:
            verdict.fail(table.get("name"), "no part holds it")
            continue
        rows = sum(t.get("rows", 0) for t in pieces)
        if rows > INT64_MAX or rows != table.get("rows"):
            verdict.fail(table.get("name"), f"the parts' rows add up to {rows}, the seal says {table.get('rows')}")
        if table.get("digest") != list_digest(t.get("digest") for t in pieces):
            verdict.fail(table.get("name"), "the seal's digest is not L of its parts' digests")
        problem = range_problem([t.get("range") or {} for t in pieces])
        if problem:
            verdict.fail(table.get("name"), problem)
    named = ARCHIVE_NAME.match(name)
    for number, part in enumerate(parts, start=1):
        expected = f"{named.group('stem')}.part-{number:04d}-of-{len(parts):04d}{named.group('suffix')}" if named else None
        if part.get("object") != expected:
            verdict.fail(part.get("object"), f"part {number} of {len(parts)} must be named {expected}")
    if not verdict.ok:
        return
    directory = os.path.dirname(archive)
    for part in parts:
        part_seal = dict(part, tables=[{k: t.get(k) for k in ("name", "rows", "digest")} for t in part.get("tables", [])])
        read_object(os.path.join(directory, part["object"]), part_seal, identity, verdict)


def read_object(path, seal, identity, verdict, keep=None):
    """§7, §9: the object's bytes against the seal (or a part's element), then its contents."""
    where = "object " + os.path.basename(path)
    if not os.path.exists(path):
        verdict.fail(where, "missing")
        return
    size, digest = sha256_file(path)
    if size != seal.get("size") or digest != seal.get("sha256"):
        verdict.fail(where, f"{size} bytes, SHA-256 {digest}; the seal says {seal.get('size')} bytes, {seal.get('sha256')}")
        return
    if seal.get("contents") == "files":
        read_files(path, seal, identity, verdict)
    else:
        read_tables(path, seal, identity, verdict, keep)


def read(archive, allowed_signers, identity, keep=None):
    verdict = Verdict()
    seal_path = archive + ".seal"
    if not os.path.exists(seal_path):
        raise Unreadable(f"{seal_path} is missing")
    if not check_signature(seal_path, allowed_signers, verdict):
        return verdict
    try:
        seal = json.loads(open(seal_path, "rb").read())
    except ValueError as error:
        verdict.fail("seal", f"not JSON: {error}")
        return verdict
    if not isinstance(seal, dict):
        verdict.fail("seal", "not a JSON object")
        return verdict
    if seal.get("format") == PARTITIONED_SEAL:
        read_partitioned(archive, seal, identity, verdict)
        return verdict
    if seal.get("format") not in SEAL_FORMATS:
        raise Unreadable(f"the seal's format {seal.get('format')!r} is not one this reader knows")
    if seal.get("object") != os.path.basename(archive):
        verdict.fail("seal", f"it seals {seal.get('object')!r}, not {os.path.basename(archive)!r}")
        return verdict
    if seal.get("contents") == "files" and identity is None and archive.endswith(".age"):
        raise Unreadable("the archive is encrypted: give --identity")
    read_object(archive, seal, identity, verdict, keep)
    return verdict


def read_series(store, profile, allowed_signers, allowed_verifiers):
    """§7.1–7.3: the profile's seals, their links, objects and tombstones; the attestations a
    reader may believe."""
    verdict = Verdict()
    seals = {}
    for root, _, files in os.walk(os.path.join(store, profile)):
        for name in files:
            named = ARCHIVE_NAME.match(name[:-len(".seal")]) if name.endswith(".seal") else None
            if named and not name.startswith(".") and ".part-" not in name and name.startswith(profile + "-") and name + ".sig" in files:
                seals[name[:-len(".seal")]] = os.path.join(root, name)
    believed, digests = {}, {}
    for name in sorted(seals):
        path = seals[name]
        digests[name] = sha256_file(path)[1]
        problem = signature_problem(path, allowed_signers, "pgseal")
        if problem:
            verdict.fail(name, f"unverifiable: {problem}")
            continue
        believed[name] = json.loads(open(path, "rb").read())
    first_chained = next((n for n in sorted(believed) if "chain" in believed[n]), None)
    for name in sorted(believed):
        seal = believed[name]
        if "chain" not in seal:
            if first_chained is not None and name > first_chained:
                verdict.fail(name, "unlinked: a seal without chain, newer than the series' first chained seal")
        else:
            previous = (seal.get("chain") or {}).get("previous")
            if previous is None:
                if any(older < name for older in believed):
                    verdict.fail(name, "restart: it says nothing came before it, but older seals are believed")
            elif previous.get("object") not in seals:
                verdict.fail(name, f"missing: the seal before it, {previous.get('object')}, is not in the store")
            elif digests[previous["object"]] != previous.get("seal_sha256"):
                verdict.fail(name, f"altered: the seal before it, {previous.get('object')}, is not the one it links to (SHA-256)")
            elif previous["object"] not in believed:
                verdict.fail(name, f"unverifiable: it links to {previous['object']}, whose seal does not verify")
        object_path = seals[name][:-len(".seal")]
        if seal.get("format") in SEAL_FORMATS and gone_unpruned(object_path, digests[name]):
            verdict.fail(name, "object-missing: its object is gone without a tombstone bound to its seal")
        for line in attestations(object_path, name, digests[name], allowed_verifiers or allowed_signers):
            verdict.notes.append(line)
    read_segment_seals(store, profile, {n: (digests[n], believed.get(n)) for n in seals}, allowed_signers, verdict)
    return verdict


def gone_unpruned(object_path, seal_sha256):
    """§7.2: the object is missing, and no tombstone bound to its seal says prune removed it."""
    if os.path.exists(object_path):
        return False
    tombstone = object_path + ".tombstone"
    note = json.loads(open(tombstone, "rb").read()) if os.path.exists(tombstone) and os.path.getsize(tombstone) <= MAX_SEAL else {}
    return (note.get("format") != "pgseal-tombstone/1" or note.get("object") != os.path.basename(object_path)
            or note.get("seal_sha256") != seal_sha256)


# §11: change segments. A segment's seal is a pgseal-seal/1 seal with contents "changes"; its
# object a tar of tables.json, changes/NNNNNN.jsonl and manifest.json.
SEGMENT_NAME = re.compile(r"^(?P<profile>.+)-\d{8}T\d{6}Z-(?P<sequence>\d{10})\.tar(?:\.zst|\.gz)?(?:\.age)?$")
SEGMENT_CHUNK = re.compile(r"^changes/(\d{6})\.jsonl$")
SEGMENTS_FORMAT = "pgseal-changes/1"
LSN_TEXT = re.compile(r"^([0-9A-F]{1,8})/([0-9A-F]{1,8})$")
COMMIT_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$")
# §11.4: each operation's members, in the order a line has them ("?" marks one that may be absent).
LINE_MEMBERS = {
    "insert": ["lsn", "xid", "committed_at", "op", "table", "key", "row"],
    "update": ["lsn", "xid", "committed_at", "op", "table", "key", "old_key?", "row", "unchanged?"],
    "delete": ["lsn", "xid", "committed_at", "op", "table", "key"],
    "truncate": ["lsn", "xid", "committed_at", "op", "tables"],
}


def lsn_value(text):
    """An LSN as PostgreSQL prints it (upper-case hexadecimal X/Y without leading zeros), or None."""
    match = LSN_TEXT.match(text) if isinstance(text, str) else None
    if not match or f"{int(match.group(1), 16):X}/{int(match.group(2), 16):X}" != text:
        return None
    return int(match.group(1), 16) << 32 | int(match.group(2), 16)


def commit_time_problem(text):
    """§11.4: why `text` is not a commit time as a follower writes it, or None."""
    if not isinstance(text, str) or not COMMIT_TIME.match(text):
        return "committed_at is not an RFC 3339 UTC time with six fractional digits"
    try:
        datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return "committed_at is not a time that exists"
    return None


def segment_seals(store, profile):
    """The profile's segment seals (§11.1), by name — which is sequence order."""
    found = {}
    for root, _, files in os.walk(os.path.join(store, profile, "changes")):
        for name in files:
            if name.endswith(".seal") and name + ".sig" in files:
                named = SEGMENT_NAME.match(name[:-len(".seal")])
                if named and named.group("profile") == profile:
                    found[name[:-len(".seal")]] = os.path.join(root, name)
    return dict(sorted(found.items()))


def read_segment_seals(store, profile, archives, allowed_signers, verdict):
    """§11.6: each segment's seal verifies and links to the segment before it; its base is an
    archive of the series, by the SHA-256 of its seal; within a replay chain each segment starts
    where the one before it ended, the first where its base's position is; its object stays
    unless a tombstone says it was pruned. `archives`: name → (seal SHA-256, believed seal)."""
    previous, ends, after_unverifiable = None, {}, False
    for name, path in segment_seals(store, profile).items():
        digest = sha256_file(path)[1]
        here, previous = previous, (name, digest)
        problem = signature_problem(path, allowed_signers, "pgseal")
        if problem:
            # Nothing it says is believed, its range included: the next segment's start is not
            # judged against it, nor against the segment before it.
            verdict.fail(name, f"segment-unverifiable: {problem}")
            after_unverifiable = True
            continue
        seal = json.loads(open(path, "rb").read())
        changes = seal.get("changes")
        if seal.get("format") not in SEAL_FORMATS or seal.get("contents") != "changes" or not isinstance(changes, dict):
            verdict.fail(name, "not a change segment's seal (§11.3)")
            continue
        link = (seal.get("chain") or {}).get("previous")
        if here is not None and (not isinstance(link, dict) or (link.get("object"), link.get("seal_sha256")) != here):
            verdict.fail(name, f"segment-link: its chain.previous does not name the segment before it, {here[0]}, by its seal's SHA-256")
        base = changes.get("base") or {}
        known = archives.get(base.get("object"))
        if known is None or known[0] != base.get("seal_sha256"):
            verdict.fail(name, f"segment-base: its base {base.get('object')!r} is no archive of the series with that seal's SHA-256")
        chain = (base.get("object"), base.get("seal_sha256"))
        start = ends.get(chain, (known[1] or {}).get("wal_lsn") if known and known[0] == chain[1] else None)
        if start is not None and not after_unverifiable and changes.get("from_lsn") != start:
            verdict.fail(name, f"lsn-gap: it starts at {changes.get('from_lsn')}, where its chain is at {start} (a gap or an overlap)")
        if lsn_value(changes.get("from_lsn")) is None or lsn_value(changes.get("to_lsn")) is None \
                or lsn_value(changes["from_lsn"]) > lsn_value(changes["to_lsn"]):
            verdict.fail(name, "its WAL range is not one")
        ends[chain], after_unverifiable = changes.get("to_lsn"), False
        if gone_unpruned(path[:-len(".seal")], digest):
            verdict.fail(name, "object-missing: its object is gone without a tombstone bound to its seal")


class Replay:
    """§11.4: the state of the base's tables as its segments change it, row by row in memory
    (a reader for vectors and audits of modest tables, not a restore)."""

    def __init__(self, rows, definitions, stop=None):
        self.rows = rows  # table → {canonical key text → row (Obj)}
        self.definitions = definitions  # table → its TableState, as the base defines it
        self.stop = stop  # with a later exact base: its position, which no applied line reaches

    def apply(self, change, where, verdict):
        if self.stop is not None and lsn_value(change["lsn"]) >= self.stop:
            return
        op = change["op"]
        if op == "truncate":
            for name in change["tables"]:
                self.rows.setdefault(name, {}).clear()
            return
        table, rows = self.definitions.get(change["table"]), self.rows.setdefault(change["table"], {})
        if table is None:
            return
        key = canonical(change["key"])
        if op == "insert":
            if key in rows:
                verdict.fail(where, f"insert of key {key} into {change['table']}, which holds it: the chain does not replay onto its base")
            rows[key] = change["row"]
        elif op == "delete":
            if rows.pop(key, None) is None:
                verdict.fail(where, f"delete of key {key} from {change['table']}, which does not hold it: the chain does not replay onto its base")
        else:
            old = canonical(change["old_key"]) if "old_key" in change else key
            before = rows.pop(old, None)
            if before is None:
                verdict.fail(where, f"update of key {old} in {change['table']}, which does not hold it: the chain does not replay onto its base")
                return
            if key in rows:
                verdict.fail(where, f"update onto key {key} of {change['table']}, which holds it")
            unchanged = set(change.get("unchanged", []))
            given = dict(change["row"])
            rows[key] = Obj((column, given[column] if column not in unchanged else dict(before).get(column)) for column in table.columns)


def change_line_problem(change, line, tables):
    """§11.4: why a decoded change line is not one a follower writes, or None."""
    if not isinstance(change, Obj):
        return "not a JSON object"
    members = dict(change)
    op = members.get("op")
    shape = LINE_MEMBERS.get(op)
    if shape is None:
        return "op is not insert, update, delete or truncate"
    names, wanted = [n for n, _ in change], [m for m in shape if not m.endswith("?") or m[:-1] in members]
    if names != [m.rstrip("?") for m in wanted]:
        return f"its members are {names}, not {[m.rstrip('?') for m in wanted]} in that order"
    if not isinstance(members["xid"], Number) or not INTEGER.match(members["xid"]) or members["xid"].startswith("-") \
            or int(members["xid"]) > 0xFFFFFFFF:
        return "xid is not a 32-bit transaction id"
    if lsn_value(members["lsn"]) is None:
        return "lsn is not an LSN as PostgreSQL prints it"
    if commit_time_problem(members["committed_at"]):
        return commit_time_problem(members["committed_at"])
    try:
        spelled = canonical(change).encode("utf-8")
    except UnicodeEncodeError:
        spelled = None
    if spelled != line:
        return "not the canonical spelling of its values (§3.1)"
    if op == "truncate":
        return None if isinstance(members["tables"], list) and all(type(t) is str for t in members["tables"]) else "tables is not a list of names"
    table = tables.get(members["table"]) if type(members["table"]) is str else None
    if table is None:
        return f"table {members['table']!r} is not one tables.json defines"
    encoding = dict(zip(table.columns, table.encodings))
    for member in ("key", "old_key"):
        if member in members:
            key = members[member]
            if not isinstance(key, list) or isinstance(key, Obj) or len(key) != len(table.key):
                return f"{member} is not an array of the table's {len(table.key)} key columns"
            if any(value_problem(v, encoding[k]) for v, k in zip(key, table.key)):
                return f"{member} holds a value not of its column's encoding"
    if "old_key" in members and canonical(members["old_key"]) == canonical(members["key"]):
        return "old_key is the key: the update did not change it"
    if "row" in members:
        row, unchanged = members["row"], members.get("unchanged", [])
        if not isinstance(unchanged, list) or isinstance(unchanged, Obj) or not unchanged and "unchanged" in members \
                or any(type(u) is not str or u not in table.columns or u in table.key for u in unchanged):
            return "unchanged is not a list of the table's columns outside its key"
        if not isinstance(row, Obj) or [n for n, _ in row] != [c for c in table.columns if c not in unchanged]:
            return "row is not an object of the table's columns in order, less the unchanged ones"
        problems = [f"{n}: {p}" for n, v in row if (p := value_problem(v, encoding[n]))]
        if problems:
            return "a value not of its column's encoding: " + "; ".join(problems)
        if canonical([dict(row)[k] for k in table.key]) != canonical(members["key"]):
            return "key is not the row's key columns"
    return None


def read_segment(path, seal, identity, tables, replay, verdict):
    """§11.2–§11.4: one segment's object against its seal, its lines checked and replayed."""
    name = os.path.basename(path)
    changes = seal["changes"]
    low, high = lsn_value(changes.get("from_lsn")), lsn_value(changes.get("to_lsn"))
    stream = Stream(path, identity, seal.get("size", 0))
    chunks, manifest_bytes, expected, first = [], None, 1, True
    counts = {"transactions": 0, "changes": 0, "first_commit": None, "last_commit": None, "tables": {}}
    last = (None, None)
    try:
        with tarfile.open(fileobj=stream.stream, mode="r|") as tar:
            for member in stream.members(tar, verdict):
                if not member.isfile():
                    verdict.fail(name, f"{member.name}: not a regular file")
                    return
                if first:
                    first = False
                    data = tar.extractfile(member).read()
                    if member.name != "tables.json" or hashlib.sha256(data).hexdigest() != seal.get("tables_sha256"):
                        verdict.fail(name, "its first entry is not the tables.json its seal's tables_sha256 names")
                        return
                    for definition in json.loads(data)["tables"]:
                        defined = f"{definition['schema']}.{definition['name']}"
                        tables.setdefault(defined, TableState(definition))
                        if [c["name"] for c in definition["columns"]] != tables[defined].columns:
                            verdict.fail(name, f"it defines {defined} with other columns than the base")
                    continue
                if member.name == "manifest.json":
                    manifest_bytes = tar.extractfile(member).read()
                    continue
                match = SEGMENT_CHUNK.match(member.name)
                if not match or int(match.group(1)) != expected:
                    verdict.fail(name, f"{member.name}: not the next chunk (changes/{expected:06d}.jsonl)")
                    return
                expected += 1
                lines = 0
                for line, hashed in lines_of(tar.extractfile(member), f"{name} {member.name}", verdict):
                    if line is None:
                        break
                    lines += 1
                    where = f"{name} {member.name}:{lines}"
                    try:
                        change = parse_line(line)
                    except (UnicodeDecodeError, ValueError, RecursionError) as error:
                        verdict.fail(where, f"not a JSON line: {error}")
                        return
                    problem = change_line_problem(change, line, tables)
                    if problem:
                        verdict.fail(where, problem)
                        return
                    change = dict(change)
                    at = lsn_value(change["lsn"])
                    if at is None or low is None or high is None or not low <= at < high:
                        verdict.fail(where, f"commit LSN {change['lsn']} outside the segment's range {changes.get('from_lsn')}–{changes.get('to_lsn')}")
                        return
                    if last[0] is not None and at < last[0]:
                        verdict.fail(where, f"commit LSN {change['lsn']} before the line before it: not in commit order")
                        return
                    if at == last[0] and change["xid"] != last[1]:
                        verdict.fail(where, f"two transactions ({last[1]}, {change['xid']}) at one commit LSN")
                        return
                    if at != last[0]:
                        counts["transactions"] += 1
                    last = (at, change["xid"])
                    counts["changes"] += 1
                    counts["first_commit"] = counts["first_commit"] or change["committed_at"]
                    counts["last_commit"] = change["committed_at"]
                    if change["op"] != "truncate":
                        counts["tables"][change["table"]] = counts["tables"].get(change["table"], 0) + 1
                    replay.apply(change, where, verdict)
                if hashed["cut"]:
                    return
                chunks.append({"path": member.name, "lines": lines, "sha256": hashed["sha256"].hexdigest()})
    except (tarfile.TarError, OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        verdict.fail(name, f"the tar stream cannot be read: {error}")
        return
    finally:
        stream.close(verdict)
    manifest = sealed_manifest(manifest_bytes, seal, {SEGMENTS_FORMAT}, verdict) if "manifest_sha256" in seal or manifest_bytes is None \
        else json.loads(manifest_bytes)
    if manifest is None:
        verdict.fail(name, "its manifest.json is missing or not the sealed one")
        return
    if manifest.get("format") != SEGMENTS_FORMAT:
        raise Unreadable(f"{name}: its manifest declares format {manifest.get('format')!r}, not {SEGMENTS_FORMAT}")
    listed = manifest.get("chunks")
    if listed != chunks:
        differing = next((f"{read['path']} holds {read['lines']} lines of SHA-256 {read['sha256']}; the manifest lists {entry}"
                          for read, entry in zip(chunks, listed or []) if read != entry), f"{len(chunks)} read, {len(listed or [])} listed")
        verdict.fail(name, f"its chunks are not the ones its manifest lists: {differing}")
    if manifest.get("range") != changes or manifest.get("profile") != seal.get("profile"):
        verdict.fail(name, "its manifest's range or profile is not its seal's")
    sealed_tables = {t.get("name"): t.get("changes") for t in changes.get("tables", []) if t.get("changes")}
    read_counts = {"transactions": counts["transactions"], "changes": counts["changes"], "first_commit": counts["first_commit"],
                   "last_commit": counts["last_commit"], "tables": counts["tables"]}
    sealed_counts = {"transactions": changes.get("transactions"), "changes": changes.get("changes"), "first_commit": changes.get("first_commit"),
                     "last_commit": changes.get("last_commit"), "tables": sealed_tables}
    for member in read_counts:
        if read_counts[member] != sealed_counts[member]:
            verdict.fail(name, f"its lines give {member} {read_counts[member]!r}; its seal says {sealed_counts[member]!r}")


def read_replay(store, profile, base, allowed_signers, identity, until_archive=None):
    """§11.3–§11.4: the base read whole (rows kept), then each segment of its own chain, in
    order, read and replayed onto it; with `until_archive` (§11.5), only up to just before that
    later exact base's position, and the result held to its sealed rows and digests."""
    definitions = {}
    verdict = read(base, allowed_signers, identity, keep=definitions)
    if not verdict.ok:
        return verdict
    base_name, base_sha256 = os.path.basename(base), sha256_file(base + ".seal")[1]
    base_seal = json.loads(open(base + ".seal", "rb").read())
    later = later_base(until_archive, allowed_signers) if until_archive else None
    stop = lsn_value(later["wal_lsn"]) if later else None
    replay = Replay({name: table.kept for name, table in definitions.items()}, definitions, stop)
    position = base_seal.get("wal_lsn")
    for name, path in segment_seals(store, profile).items():
        if signature_problem(path, allowed_signers, "pgseal"):
            verdict.fail(name, "a segment whose seal does not verify")
            continue
        seal = json.loads(open(path, "rb").read())
        changes = seal.get("changes") or {}
        if changes.get("base") != {"object": base_name, "seal_sha256": base_sha256}:
            continue  # another chain's (§11.5's adopted chains are not read here)
        if changes.get("from_lsn") != position:
            verdict.fail(name, f"it starts at {changes.get('from_lsn')}, where its chain is at {position}: a gap or an overlap")
            return verdict
        position = changes.get("to_lsn")
        object_path = path[:-len(".seal")]
        if not os.path.exists(object_path):
            verdict.fail(name, "its object is gone (pruned or removed): the chain cannot be replayed past it")
            return verdict
        size, digest = sha256_file(object_path)
        if seal.get("object") != name or size != seal.get("size") or digest != seal.get("sha256"):
            verdict.fail(name, f"the object is not the sealed one ({size} bytes, SHA-256 {digest})")
            return verdict
        read_segment(object_path, seal, identity, definitions, replay, verdict)
        if not verdict.ok:
            return verdict
    if later:
        if stop is None or lsn_value(position) is None or lsn_value(position) < stop:
            raise Unreadable(f"the chain ends at {position}: it does not reach the later base's position {later['wal_lsn']}")
        continuity(replay, later, verdict)
    return verdict


def later_base(path, allowed_signers):
    """§11.5: a later base's seal, which must verify and state an exact position."""
    problem = signature_problem(path + ".seal", allowed_signers, "pgseal")
    if problem:
        raise Unreadable(f"{path}: its seal does not verify: {problem}")
    seal = json.loads(open(path + ".seal", "rb").read())
    if seal.get("wal_lsn_exact") is not True or lsn_value(seal.get("wal_lsn")) is None:
        raise Unreadable(f"{path} is not at an exact position (wal_lsn_exact): nothing can be proven against it")
    return seal


def continuity(replay, later, verdict):
    """§11.5: each table of the later base, its rows and digest as the replay gives them — read
    back in key order and written as §3 writes rows."""
    for sealed in later.get("tables", []):
        name = sealed.get("name")
        table = replay.definitions.get(name)
        if table is None:
            verdict.fail(f"continuity {name}", "the later base holds this table and the base does not: nothing proves it")
            continue
        if not table.checked_order:
            raise Unreadable(f"{name}: its key's order follows the server's rules (§3.2): a reader without one cannot read it back in order")
        rows = sorted(replay.rows.get(name, {}).values(), key=lambda row: [comparable(dict(row)[k], kind) for k, kind in zip(table.key, table.kinds)])
        digest = hashlib.sha256(b"".join(hashlib.sha256(canonical(row).encode("utf-8")).hexdigest().encode() + b"\n" for row in rows)).hexdigest()
        if len(rows) != sealed.get("rows") or digest != sealed.get("digest"):
            verdict.fail(f"continuity {name}", f"the base and its segments replayed give {len(rows)} rows, digest {digest}; "
                                               f"the later base says {sealed.get('rows')}, {sealed.get('digest')}")


def attestations(object_path, name, seal_sha256, allowed_verifiers):
    """§7.3: each attestation of an archive, believed or not and why."""
    directory, prefix = os.path.dirname(object_path), os.path.basename(object_path) + ".attestation."
    found = sorted(f for f in os.listdir(directory) if f.startswith(prefix) and f.endswith(".json"))
    for file in found[:MAX_ATTESTATIONS]:
        path = os.path.join(directory, file)
        problem = signature_problem(path, allowed_verifiers, "pgseal-attestation")
        document = {}
        if problem is None:
            document = json.loads(open(path, "rb").read())
            if document.get("format") != "pgseal-attestation/1":
                problem = "not an attestation"
            elif document.get("object") != name or document.get("seal_sha256") != seal_sha256:
                problem = "it attests another archive or another seal"
            elif document.get("verifier") != signer_fingerprint(path + ".sig"):
                problem = "its verifier is not the key that signed it"
        if problem:
            yield f"attestation {file} not believed: {problem}"
        elif document.get("result") == "verified":
            yield f"attested {document.get('level')} {name} {document.get('verified_at')}"
        else:
            yield f"attestation {file}: {document.get('level')} {document.get('result')}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Exit 0 ok, 1 the archive or series is bad (each failure on a line), 2 it could not be read.")
    parser.add_argument("archive", nargs="?", help="the archive (for a partitioned one: the name its seal has, <name>.seal beside it)")
    parser.add_argument("--allowed-signers", required=True, help="ssh-keygen's allowed_signers of the trusted signers of seals (namespace pgseal)")
    parser.add_argument("--allowed-verifiers", help="with --series: the trusted signers of attestations (namespace pgseal-attestation); default --allowed-signers")
    parser.add_argument("--identity", help="the age identity file, to read an encrypted archive's contents")
    parser.add_argument("--series", metavar="STORE", help="check the series of --profile in this directory instead of one archive")
    parser.add_argument("--profile", help="with --series: the profile")
    parser.add_argument("--replay", metavar="BASE", help="with --series and --identity: read BASE whole and replay its chain of change segments onto it (§11)")
    parser.add_argument("--until-archive", metavar="LATER", help="with --replay: replay up to just before LATER's exact position and require its rows and digests (§11.5)")
    parser.add_argument("--json", action="store_true", help="print {ok, failures, notes} as JSON")
    args = parser.parse_args()
    if (args.series is None) == (args.archive is None) or (args.series is not None and not args.profile):
        parser.error("give an ARCHIVE, or --series STORE --profile P")
    if args.replay and not (args.series and args.identity) or args.until_archive and not args.replay:
        parser.error("--replay BASE goes with --series STORE --profile P and --identity F; --until-archive with --replay")
    try:
        if args.series:
            verdict = read_series(args.series, args.profile, args.allowed_signers, args.allowed_verifiers)
            if args.replay:
                replayed = read_replay(args.series, args.profile, args.replay, args.allowed_signers, args.identity, args.until_archive)
                verdict.failures += replayed.failures
                verdict.notes += replayed.notes
        else:
            verdict = read(args.archive, args.allowed_signers, args.identity)
    except (Unreadable, FileNotFoundError) as error:
        print(f"cannot read: {error}", file=sys.stderr)
        return 2
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, struct.error) as error:
        # A document of the wrong shape, signed or not: the archive is bad, and says where.
        print(f"FAIL malformed: a document of the archive is not of the shape FORMAT.md gives it: {type(error).__name__}: {error}")
        return 1
    if args.json:
        print(json.dumps({"ok": verdict.ok, "failures": verdict.failures, "notes": verdict.notes}))
    else:
        print("\n".join(verdict.failures + [f"note: {n}" if not n.startswith("attested ") else n for n in verdict.notes] + (["ok"] if verdict.ok else [])))
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
