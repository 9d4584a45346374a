#!/usr/bin/env python3
"""An oracle for pgseal's canonical JSON that is not pgseal's encoder: PostgreSQL's own
to_jsonb() of the same rows, normalised by the rules of docs/FORMAT.md.

    compare_to_jsonb.py EXTRACTED_DIR DATABASE_URL

For every table of the manifest it reads to_jsonb(row) with psql, matches rows by key, and
checks (1) every value equals the oracle's under the format's rules and (2) every line is the
canonical serialisation of its own value (minimal escaping, no white space, manifest column
order). Exit 0 when all agree; 1 with each difference printed."""
import decimal
import json
import os
import subprocess
import sys


class Raw:
    """A JSON number kept as its exact text."""
    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


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


def numeric_equal(a, b):
    return decimal.Decimal(a) == decimal.Decimal(b)


def json_equal(a, b):
    if isinstance(a, Raw) and isinstance(b, Raw):
        return numeric_equal(a.text, b.text)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, (Raw, list, dict)) or isinstance(b, (Raw, list, dict)):
        return False
    return a == b


def bc_to_expanded(text):
    """'0044-03-15T12:00:00 BC' -> '-0043-03-15T12:00:00' (ISO 8601 expanded year)."""
    if not text.endswith(" BC"):
        return text
    body = text[:-3]
    year, rest = body.split("-", 1)
    astronomical = 1 - int(year)
    sign = "-" if astronomical < 0 else ""
    return f"{sign}{abs(astronomical):04d}-{rest}"


def oracle_timestamptz(text):
    if text in ("infinity", "-infinity"):
        return text
    bc = text.endswith(" BC")
    body = text[:-3] if bc else text
    if not body.endswith("+00:00"):
        raise ValueError(f"unexpected offset in {text!r}")
    body = body[:-6] + "Z"
    return bc_to_expanded(body + " BC") if bc else body


def value_equal(ours, oracle, encoding, declared):
    if ours is None or oracle is None:
        return ours is None and oracle is None
    if encoding == "integer":
        return isinstance(ours, Raw) and isinstance(oracle, Raw) and ours.text == oracle.text
    if encoding == "float":
        if isinstance(ours, str) or isinstance(oracle, str):
            return ours == oracle
        return numeric_equal(ours.text, oracle.text)
    if encoding == "numeric":
        expected = oracle.text if isinstance(oracle, Raw) else oracle
        return ours == expected
    if encoding == "boolean":
        return ours is oracle
    if encoding == "timestamptz":
        return ours == oracle_timestamptz(oracle)
    if encoding == "json":
        return json_equal(ours, oracle)
    if encoding in ("json-text", "array-text"):
        # pgseal/2: PostgreSQL's own text output, which the oracle selected with ::text
        return ours == oracle
    if encoding.startswith("array:"):
        element = encoding[len("array:"):]
        if not isinstance(ours, list) or not isinstance(oracle, list) or len(ours) != len(oracle):
            return False
        return all(
            value_equal(o, r, "array:" + element if isinstance(o, list) else element, declared)
            for o, r in zip(ours, oracle))
    # text: PostgreSQL's text output; to_jsonb writes timestamps with a 'T'
    if declared.startswith("timestamp without time zone"):
        return ours == oracle.replace("T", " ", 1)
    return ours == oracle


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def main(directory, url):
    with open(os.path.join(directory, "manifest.json")) as f:
        manifest = json.load(f)
    problems = 0
    for table in manifest["tables"]:
        name = f"{table['schema']}.{table['name']}"
        columns = table["columns"]
        names = [c["name"] for c in columns]
        key = table["key"] or names
        # pgseal/2 keeps json and arrays as PostgreSQL's text: the oracle asks for that text.
        select = ", ".join(
            f"{quote_ident(c['name'])}::text AS {quote_ident(c['name'])}" if c["encoding"] in ("json-text", "array-text")
            else quote_ident(c["name"]) for c in columns)
        sql = f"SELECT to_jsonb(oracle_row)::text FROM (SELECT {select} FROM {quote_ident(table['schema'])}.{quote_ident(table['name'])}"
        if table["filter"]:
            sql += f" WHERE ({table['filter']})"
        sql += ") oracle_row"
        env = dict(os.environ, PGOPTIONS="-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=iso_8601 -c extra_float_digits=3")
        out = subprocess.run(["psql", url, "-X", "-A", "-t", "-c", sql], check=True, capture_output=True, env=env).stdout
        oracle = {}
        for line in out.decode().split("\n"):
            if line:
                row = loads(line)
                oracle[canonical([row[k] for k in key])] = row
        ours = []
        folder = os.path.join(directory, "data", name)
        for chunk in table["chunks"]:
            with open(os.path.join(directory, chunk["path"]), encoding="utf-8") as f:
                ours.extend(line.rstrip("\n") for line in f)
        if len(ours) != len(oracle):
            print(f"{name}: pgseal has {len(ours)} rows, to_jsonb {len(oracle)}")
            problems += 1
        seen = set()
        for line in ours:
            row = loads(line)
            identity = canonical([row.get(k) for k in key])
            if identity in seen:
                # a duplicated row must not stand in for a missing one
                print(f"{name}: row {identity} appears twice")
                problems += 1
            seen.add(identity)
            if list(row.keys()) != names:
                print(f"{name}: columns {list(row.keys())} are not the manifest's {names}")
                problems += 1
                continue
            if canonical(row) != line:
                print(f"{name}: not canonical:\n  ours      {line[:300]}\n  canonical {canonical(row)[:300]}")
                problems += 1
            expected = oracle.get(canonical([row[k] for k in key]))
            if expected is None:
                print(f"{name}: row {canonical([row[k] for k in key])} is not in the database")
                problems += 1
                continue
            for column in columns:
                n = column["name"]
                if not value_equal(row[n], expected[n], column["encoding"], column["type"]):
                    print(f"{name}.{n}: pgseal {canonical(row[n])[:200]} vs to_jsonb {canonical(expected[n])[:200]}")
                    problems += 1
        print(f"{name}: {len(ours)} rows compared")
    print("OK" if problems == 0 else f"{problems} difference(s)")
    return 0 if problems == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
