#!/usr/bin/env python3
"""An oracle for pgseal's canonical JSON that is not pgseal: PostgreSQL's own to_jsonb() of the
rows the test asked for, normalised by the rules of docs/FORMAT.md.

    compare_to_jsonb.py EXTRACTED_DIR DATABASE_URL PROFILE_JSON

PROFILE_JSON is what the test exported, written by the test and not read from the archive:
a JSON array of {"table": "schema.name", "columns": [...] (optional), "filter": SQL (optional),
"key": [...] (optional: else the primary key from the catalog, else none)}.

Nothing of pgseal's manifest is believed: column lists, declared types and encodings come from
the catalog (pg_attribute, format_type, the base type of domains), and the manifest is checked
against them. Rows are compared as whole rows: for a keyed table the archive's rows must equal,
in order, the database's rows ordered by the key (text columns by their bytes, collation "C");
for a table without a key, the two multisets must be equal. A duplicated row can never stand
in for a missing one. Every line must also be the canonical serialisation of its own value.
Exit 0 when all agree; 1 with each difference printed."""
import collections
import decimal
import json
import os
import subprocess
import sys

SETTINGS = "-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=iso_8601 -c extra_float_digits=3 -c lc_monetary=C -c xmloption=content"


class Raw:
    """A JSON number kept as its exact text."""
    def __init__(self, text):
        self.text = text


def loads(text):
    return json.loads(text, parse_float=Raw, parse_int=Raw, parse_constant=Raw)


def canonical(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical(v) for k, v in value.items()) + "}"


def psql(url, sql):
    env = dict(os.environ, PGOPTIONS=SETTINGS)
    out = subprocess.run(["psql", url, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, env=env).stdout
    return [line for line in out.decode().split("\n") if line]


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text):
    return "'" + text.replace("'", "''") + "'"


def encoding_of(base_name, category):
    """docs/FORMAT.md 3.1, from the catalog's base type: the independent side of the claim."""
    if category == "A":
        return "array-text"
    return {"int2": "integer", "int4": "integer", "int8": "integer", "oid": "integer",
            "float4": "float", "float8": "float", "numeric": "numeric", "bool": "boolean",
            "timestamptz": "timestamptz", "json": "json-text", "jsonb": "json-text"}.get(base_name, "text")


def catalog_columns(url, schema, table):
    """(name, format_type, encoding, collatable) of every live column, in attnum order; domains
    resolved to their base type however deep they nest."""
    rows = psql(url, f"""
        WITH RECURSIVE base(start, oid, typtype, typbasetype) AS (
            SELECT t.oid, t.oid, t.typtype, t.typbasetype FROM pg_type t
          UNION ALL
            SELECT b.start, t.oid, t.typtype, t.typbasetype FROM base b JOIN pg_type t ON t.oid = b.typbasetype WHERE b.typtype = 'd')
        SELECT json_build_array(a.attname, format_type(a.atttypid, a.atttypmod), bt.typname, bt.typcategory, a.attcollation <> 0)
        FROM pg_attribute a
        JOIN base b ON b.start = a.atttypid AND b.typtype <> 'd'
        JOIN pg_type bt ON bt.oid = b.oid
        WHERE a.attrelid = (quote_ident({quote_literal(schema)}) || '.' || quote_ident({quote_literal(table)}))::regclass
          AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum""")
    return [(n, t, encoding_of(base, cat), coll) for n, t, base, cat, coll in map(json.loads, rows)]


def primary_key(url, schema, table):
    rows = psql(url, f"""
        SELECT a.attname FROM pg_index i
        JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position) ON true
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = (quote_ident({quote_literal(schema)}) || '.' || quote_ident({quote_literal(table)}))::regclass
          AND i.indisprimary
        ORDER BY k.position""")
    return rows


def oracle_timestamptz(text):
    if text in ("infinity", "-infinity"):
        return text
    bc = text.endswith(" BC")
    body = text[:-3] if bc else text
    if not body.endswith("+00:00"):
        raise ValueError(f"unexpected offset in {text!r}")
    body = body[:-6] + "Z"
    if not bc:
        return body
    year, rest = body.split("-", 1)
    astronomical = 1 - int(year)
    return f"{'-' if astronomical < 0 else ''}{abs(astronomical):04d}-{rest}"


def normal(value, encoding, declared, oracle):
    """A comparable, hashable form of one value. The JSON type is part of it, so that a number
    where the format wants a string (or the reverse) never compares equal."""
    if value is None:
        return None
    if encoding == "integer":
        return ("integer", value.text) if isinstance(value, Raw) else ("not a number", canonical(value))
    if encoding == "float":
        if isinstance(value, str):
            return ("float", value)
        return ("float", decimal.Decimal(value.text)) if isinstance(value, Raw) else ("bad", canonical(value))
    if encoding == "numeric":
        if oracle and isinstance(value, Raw):
            return ("numeric", value.text)
        return ("numeric", value) if isinstance(value, str) else ("not a string", canonical(value))
    if encoding == "boolean":
        return ("boolean", value) if isinstance(value, bool) else ("not a boolean", canonical(value))
    if not isinstance(value, str):
        return ("not a string", canonical(value))
    if oracle and encoding == "timestamptz":
        return ("string", oracle_timestamptz(value))
    if oracle and declared.startswith("timestamp without time zone"):
        return ("string", value.replace("T", " ", 1))
    return ("string", value)


def row_of(values, columns, oracle):
    return tuple(normal(values[name], encoding, declared, oracle) for name, declared, encoding, _ in columns)


def check_table(directory, url, wanted, manifest_tables):
    problems = []
    schema, table = wanted["table"].split(".", 1)
    name = f"{schema}.{table}"
    columns = catalog_columns(url, schema, table)
    if wanted.get("columns"):
        by_name = {c[0]: c for c in columns}
        missing = [c for c in wanted["columns"] if c not in by_name]
        if missing:
            return [f"{name}: the test names columns the table lacks: {missing}"], 0
        columns = [by_name[c] for c in wanted["columns"]]
    key = wanted.get("key", primary_key(url, schema, table))
    entry = manifest_tables.get(name)
    if entry is None:
        return [f"{name}: not in the archive's manifest"], 0
    declared = [(c["name"], c["type"], c["encoding"]) for c in entry["columns"]]
    expected = [(n, t, e) for n, t, e, _ in columns]
    if declared != expected:
        problems.append(f"{name}: manifest columns {declared} are not the catalog's {expected}")
    if entry.get("key") != key:
        problems.append(f"{name}: manifest key {entry.get('key')} is not {key}")
    if (entry.get("filter") or None) != (wanted.get("filter") or None):
        problems.append(f"{name}: manifest filter {entry.get('filter')!r} is not {wanted.get('filter')!r}")

    # The database's rows, ordered by the key the way docs/FORMAT.md 3.2 says.
    select = ", ".join(
        f"{quote_ident(n)}::text AS {quote_ident(n)}" if e in ("json-text", "array-text") else quote_ident(n)
        for n, _, e, _ in columns)
    collatable = {n: coll for n, _, _, coll in columns}
    order = ", ".join(f"r.{quote_ident(k)}" + (' COLLATE "C"' if collatable.get(k) else "") for k in key)
    sql = f"SELECT to_jsonb(r)::text FROM (SELECT {select} FROM {quote_ident(schema)}.{quote_ident(table)}"
    if wanted.get("filter"):
        sql += f" WHERE ({wanted['filter']})"
    sql += ") r" + (f" ORDER BY {order}" if key else "")
    theirs = [row_of(loads(line), columns, oracle=True) for line in psql(url, sql)]

    # The archive's rows: every chunk file of the table, in name order, each a listed chunk.
    folder = os.path.join(directory, "data", name)
    files = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    listed = sorted(os.path.basename(c["path"]) for c in entry["chunks"])
    if files != listed:
        problems.append(f"{name}: chunk files {files} are not the manifest's {listed}")
    ours = []
    names = [c[0] for c in columns]
    for file in files:
        with open(os.path.join(folder, file), "rb") as f:
            data = f.read()
        if data and not data.endswith(b"\n"):
            problems.append(f"{name}/{file}: the last line has no newline")
        for line in data.decode("utf-8").split("\n")[:-1] if data else []:
            row = loads(line)
            if list(row.keys()) != names:
                problems.append(f"{name}: columns {list(row.keys())} are not {names}")
                continue
            if canonical(row) != line:
                problems.append(f"{name}: not canonical:\n  ours      {line[:300]}\n  canonical {canonical(row)[:300]}")
            ours.append(row_of(row, columns, oracle=False))

    if key:
        if ours != theirs:
            for position, (a, b) in enumerate(zip(ours, theirs)):
                if a != b:
                    problems.append(f"{name}: row {position + 1} differs:\n  archive  {a}\n  database {b}")
                    break
            if len(ours) != len(theirs):
                problems.append(f"{name}: the archive has {len(ours)} rows, the database {len(theirs)}")
            keys = collections.Counter(tuple(r[names.index(k)] for k in key) for r in ours)
            for k, n in keys.items():
                if n > 1:
                    problems.append(f"{name}: key {k} appears {n} times")
    else:
        a, b = collections.Counter(ours), collections.Counter(theirs)
        for row, n in (a - b).items():
            problems.append(f"{name}: {n} × only in the archive: {row}")
        for row, n in (b - a).items():
            problems.append(f"{name}: {n} × only in the database: {row}")
    return problems, len(ours)


def main(directory, url, profile_json):
    wanted_tables = json.loads(profile_json)
    with open(os.path.join(directory, "manifest.json")) as f:
        manifest = json.load(f)
    manifest_tables = {f"{t['schema']}.{t['name']}": t for t in manifest["tables"]}
    problems = 0
    wanted_names = [w["table"] for w in wanted_tables]
    if sorted(manifest_tables) != sorted(wanted_names):
        print(f"the archive holds {sorted(manifest_tables)}, the test exported {sorted(wanted_names)}")
        problems += 1
    for wanted in wanted_tables:
        found, rows = check_table(directory, url, wanted, manifest_tables)
        for problem in found[:20]:
            print(problem)
        problems += len(found)
        print(f"{wanted['table']}: {rows} rows compared")
    print("OK" if problems == 0 else f"{problems} difference(s)")
    return 0 if problems == 0 else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
