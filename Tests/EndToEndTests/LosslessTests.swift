import Foundation
import TestSupport
import XCTest

/// The type matrix: a table per PostgreSQL type family with edge values, exported, restored
/// with --create-tables into an empty database and compared value by value (COPY's text output
/// of both databases, byte for byte); then one committed change per table, which diff must see
/// and name; and keys of every orderable family, where diff must name exactly the deleted row.
final class LosslessTests: XCTestCase {
    /// (table, column type, values as SQL literals): row ids are 1, 2, … in this order, and one
    /// NULL row follows.
    static let matrix: [(String, String, [String])] = [
        ("t_int2", "smallint", ["-32768", "32767", "0"]),
        ("t_int8", "bigint", ["-9223372036854775808", "9223372036854775807"]),
        ("t_numeric", "numeric", ["'NaN'", "'Infinity'", "'-Infinity'", "1.2300", "-0.000001", "1e100"]),
        ("t_numeric_typmod", "numeric(12,2)", ["1.5", "-99999.99"]),
        ("t_float4", "real", ["'-0'", "'NaN'", "'Infinity'", "0.1", "1e-45", "3.4028235e38"]),
        ("t_float8", "double precision", ["'-0'", "'-Infinity'", "0.1", "5e-324", "1.7976931348623157e308", "0.30000000000000004"]),
        ("t_bool", "boolean", ["true", "false"]),
        ("t_text", "text", ["''", "E'a\\tb\\nc\\\\d'", "'quote\"'", "'日本語 ☃'", "E'\\x01\\x7f'", "'null'"]),
        ("t_varchar", "varchar(10)", ["'ab '", "''"]),
        ("t_char", "char(5)", ["'ab'", "'abcde'"]),
        ("t_bytea", "bytea", ["'\\xdeadbeef'", "''"]),
        ("t_date", "date", ["'4713-01-01 BC'", "'5874897-12-31'", "'infinity'", "'-infinity'", "'0044-03-15 BC'"]),
        ("t_timestamp", "timestamp", ["'4713-01-01 00:00:00 BC'", "'294276-12-31 23:59:59.999999'", "'infinity'", "'2026-11-24 18:00:00.5'"]),
        ("t_timestamptz", "timestamptz", ["'4713-01-01 00:00:00+00 BC'", "'294276-12-31 23:59:59.999999+00'", "'-infinity'", "'1969-07-20 20:17:40+00'"]),
        ("t_time", "time", ["'24:00:00'", "'00:00:00.000001'"]),
        ("t_timetz", "timetz", ["'00:00:00.000001+14:59'", "'23:59:59-15:59'"]),
        ("t_interval", "interval", ["'-178000000 years'", "'1 mon -1 days 00:00:00.000001'", "'P1Y2M3DT4H5M6.789S'"]),
        ("t_uuid", "uuid", ["'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'"]),
        ("t_json", "json", ["'  {\"b\":1,  \"a\":[1, 2], \"a\": 3}  '", "'null'", "'\"x\"'", "'[]'", "'1.50'"]),
        ("t_jsonb", "jsonb", ["'null'", "'{\"b\": 1, \"a\": 2}'", "'[1, \"2\", null]'", "'\"\\\\u0000x\"'"]),
        ("t_int_array", "integer[]", ["'[0:1]={1,2}'", "'{{1,2},{3,4}}'", "'{}'", "'{NULL}'", "'[-2:-2]={7}'"]),
        ("t_text_array", "text[]", ["'{\"a,b\",\"c\\\"d\",NULL,\"NULL\",\"\"}'", "'{{a},{b}}'"]),
        ("t_jsonb_array", "jsonb[]", ["ARRAY['[1, 2]'::jsonb]", "ARRAY['{\"a\": 1}'::jsonb, '[]'::jsonb]", "ARRAY['null'::jsonb, NULL]", "'{{1,2}}'"]),
        ("t_json_array", "json[]", ["ARRAY['{ \"a\" : 1 }'::json, '[ ]'::json]"]),
        ("t_box_array", "box[]", ["ARRAY['(1,1),(0,0)'::box, '(2,2),(1,1)'::box]"]),
        ("t_oidvector", "oidvector", ["'1 2 3'"]),
        ("t_int2vector", "int2vector", ["'1 2'"]),
        ("t_range", "int4range", ["'[1,3)'", "'empty'", "'(,5]'"]),
        ("t_tstzrange", "tstzrange", ["'[2026-01-01 00:00:00+00,infinity)'"]),
        ("t_multirange", "int4multirange", ["'{[1,3), [5,7)}'", "'{}'"]),
        ("t_point", "point", ["'(1.5,-0)'"]),
        ("t_line", "line", ["'{1,2,3}'"]),
        ("t_lseg", "lseg", ["'[(0,0),(1,1)]'"]),
        ("t_box", "box", ["'(1,1),(0,0)'"]),
        ("t_path", "path", ["'[(0,0),(1,1),(2,0)]'", "'((0,0),(1,1))'"]),
        ("t_polygon", "polygon", ["'((0,0),(1,1),(1,0))'"]),
        ("t_circle", "circle", ["'<(0,0),1.5>'"]),
        ("t_bit", "bit(8)", ["B'10100101'"]),
        ("t_varbit", "bit varying(12)", ["B'101'", "B''"]),
        ("t_tsvector", "tsvector", ["'a:1A fat:2B,4C cat:5D'"]),
        ("t_tsquery", "tsquery", ["'fat & (rat | !cat)'"]),
        ("t_xml", "xml", ["'<a b=\"1\">x &amp; y</a>'"]),
        ("t_money", "money", ["'-92233720368547758.08'", "'12.34'"]),
        ("t_inet", "inet", ["'192.168.0.1/24'", "'::1'"]),
        ("t_cidr", "cidr", ["'10.0.0.0/8'"]),
        ("t_macaddr", "macaddr", ["'08:00:2b:01:02:03'"]),
        ("t_macaddr8", "macaddr8", ["'08:00:2b:01:02:03:04:05'"]),
    ]

    /// A change to each table that the pgseal/1 format could not see, or an ordinary one.
    static let changes: [String: String] = [
        "t_jsonb": "UPDATE t_jsonb SET v = NULL WHERE id = 1",          // 'null' → SQL NULL
        "t_json": "UPDATE t_json SET v = '{\"b\":1, \"a\":[1, 2], \"a\": 3}' WHERE id = 1",  // white space only
        "t_int_array": "UPDATE t_int_array SET v = '{1,2}' WHERE id = 1",                 // lower bound only
        "t_jsonb_array": "UPDATE t_jsonb_array SET v = '{{1,2}}' WHERE id = 1",           // element vs dimension
        "t_float8": "UPDATE t_float8 SET v = 0 WHERE id = 1",                             // -0 → 0
        "t_text": "UPDATE t_text SET v = NULL WHERE id = 6",                              // 'null' → NULL
    ]

    /// Keys of each orderable family, in their values' order: diff must name exactly the one
    /// deleted (the middle one) and nothing else.
    static let keys: [(String, String, [String])] = [
        ("k_date", "date", ["'4713-01-01 BC'", "'0001-12-31 BC'", "'0001-01-01'", "'9999-12-31'", "'10000-01-01'", "'infinity'"]),
        ("k_numeric", "numeric", ["'-Infinity'", "-10", "-9.5", "2", "10.25", "100", "'NaN'"]),
        ("k_timestamp", "timestamp", ["'0044-03-15 00:00:00 BC'", "'1999-12-31 23:59:59.999999'", "'2000-01-01 00:00:00'", "'12345-01-01 00:00:00'"]),
        ("k_timestamptz", "timestamptz", ["'0044-03-15 00:00:00+00 BC'", "'1969-12-31 23:59:59+00'", "'2026-01-01 00:00:00+00'", "'10000-01-01 00:00:00+00'"]),
        ("k_interval", "interval", ["'-1 year'", "'1 day'", "'25 hours'", "'1 mon'", "'1 year'"]),
        ("k_enum", "lossless_mood", ["'sad'", "'ok'", "'happy'"]),
        ("k_char", "char(3)", ["'a'", "'a b'", "'b'", "'ba'"]),
        ("k_float", "double precision", ["'-Infinity'", "-1.5", "0", "1e-300", "2", "'NaN'"]),
        ("k_bool", "boolean", ["false", "true"]),
        ("k_text", "text", ["'A'", "'B'", "'a'", "'é'", "'ö'"]),
        ("k_varchar", "varchar(10)", ["''", "' '", "'a'", "'ab'"]),
    ]

    var server: PostgresServer!
    var keys: TemporaryDirectory!
    var store: TemporaryDirectory!

    override func setUpWithError() throws {
        server = try PostgresServer.shared()
        keys = try TemporaryDirectory()
        store = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
    }

    func database(_ label: String, setUp sql: String) throws -> String {
        let name = try server.emptyDatabase(label: "lossless_\(label)", for: self)
        if !sql.isEmpty { _ = try server.psql(sql, database: name) }
        return name
    }

    func export(_ database: String, tables: [String], profile: String) throws -> String {
        let config = store.file("\(profile).yaml")
        try (["profiles:", "  - name: \(profile)", "    tables:"] + tables.map { "      - table: \($0)" })
            .joined(separator: "\n").write(toFile: config, atomically: true, encoding: .utf8)
        let result = try PGSealCLI.run(["export", "--db", server.url(database: database), "--to", store.path, "--no-encrypt",
                                        "--sign-key", keys.file("signing-key"), "--config", config, "--profile", profile, "--progress", "never"])
        XCTAssertEqual(result.status, 0, result.err)
        return result.out.trimmingCharacters(in: .newlines)
    }

    /// `restore --create-tables` of `archive` into the database `target`.
    func restore(_ archive: String, into target: String, _ extra: [String] = []) throws -> CommandResult {
        try PGSealCLI.run(["restore", archive, "--db", server.url(database: target), "--create-tables",
                           "--trusted-key", keys.file("allowed_signers")] + extra)
    }

    func copyText(_ table: String, database: String) throws -> String {
        try server.psql("COPY (SELECT * FROM \(table) ORDER BY id) TO STDOUT", database: database)
    }

    func diff(_ archive: String, _ database: String) throws -> (CommandResult, [String: [String: Any]]) {
        let report = store.file("diff-\(UUID().uuidString).json")
        let result = try PGSealCLI.run(["diff", archive, "--db", server.url(database: database), "--trusted-key", keys.file("allowed_signers"),
                                        "--show", "20", "--report", report])
        let json = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report)))) as? [String: Any]
        let tables = (json?["tables"] as? [[String: Any]] ?? []).reduce(into: [String: [String: Any]]()) { $0[$1["name"] as? String ?? ""] = $1 }
        return (result, tables)
    }

    func testEveryValueRoundTripsAndEveryChangeIsSeen() throws {
        var setUp = ""
        for (table, type, values) in Self.matrix {
            setUp += "CREATE TABLE \(table) (id int PRIMARY KEY, v \(type));\n"
            for (index, value) in values.enumerated() { setUp += "INSERT INTO \(table) VALUES (\(index + 1), \(value));\n" }
            setUp += "INSERT INTO \(table) VALUES (\(values.count + 1), NULL);\n"
        }
        let source = try database("source", setUp: setUp)
        let archive = try export(source, tables: Self.matrix.map(\.0), profile: "matrix")
        let deep = try PGSealCLI.run(["verify", archive, "--level", "deep", "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(deep.status, 0, deep.err)

        let target = try database("target", setUp: "")
        let restored = try restore(archive, into: target)
        XCTAssertEqual(restored.status, 0, restored.err)
        for (table, type, _) in Self.matrix {
            XCTAssertEqual(try copyText(table, database: target), try copyText(table, database: source), "\(type) did not round-trip")
        }

        let (clean, cleanTables) = try diff(archive, source)
        XCTAssertEqual(clean.status, 0, clean.out + clean.err)
        XCTAssertEqual(cleanTables.count, Self.matrix.count)

        // One committed change in every table: the subtle ones above, elsewhere row 1 takes row
        // 2's value (or NULL where there is one value).
        let updates = Self.matrix.map { table, _, values in
            Self.changes[table] ?? (values.count >= 2 ? "UPDATE \(table) SET v = (SELECT v FROM \(table) WHERE id = 2) WHERE id = 1"
                                                      : "UPDATE \(table) SET v = NULL WHERE id = 1")
        }
        _ = try server.psql("BEGIN;\n" + updates.joined(separator: ";\n") + ";\nCOMMIT;", database: source)
        let (changed, tables) = try diff(archive, source)
        XCTAssertEqual(changed.status, 1, changed.out + changed.err)
        for (table, _, _) in Self.matrix {
            let result = tables["public.\(table)"] ?? [:]
            XCTAssertEqual(result["changed"] as? Int, 1, "\(table): \(result)")
            XCTAssertEqual(result["changed_keys"] as? [String], [table == "t_text" ? "[6]" : "[1]"], "\(table): \(result)")
            XCTAssertEqual(result["only_in_archive"] as? Int, 0, "\(table): \(result)")
            XCTAssertEqual(result["only_in_database"] as? Int, 0, "\(table): \(result)")
        }
    }

    func testDiffNamesExactlyTheMissingRowForEveryKeyType() throws {
        var setUp = "CREATE TYPE lossless_mood AS ENUM ('sad', 'ok', 'happy');\n"
        for (table, type, values) in Self.keys {
            setUp += "CREATE TABLE \(table) (id \(type) PRIMARY KEY, n int);\n"
            for (index, value) in values.enumerated() { setUp += "INSERT INTO \(table) VALUES (\(value), \(index));\n" }
        }
        let source = try database("keys", setUp: setUp)
        let archive = try export(source, tables: Self.keys.map(\.0), profile: "keys")
        let deep = try PGSealCLI.run(["verify", archive, "--level", "deep", "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(deep.status, 0, deep.err)

        let (clean, _) = try diff(archive, source)
        XCTAssertEqual(clean.status, 0, clean.out + clean.err)
        for (table, _, values) in Self.keys {
            _ = try server.psql("DELETE FROM \(table) WHERE n = \(values.count / 2)", database: source)
        }
        let (found, tables) = try diff(archive, source)
        XCTAssertEqual(found.status, 1, found.out + found.err)
        for (table, type, _) in Self.keys {
            let result = tables["public.\(table)"] ?? [:]
            XCTAssertEqual(result["only_in_archive"] as? Int, 1, "\(type): \(result) \(found.out) \(found.err)")
            XCTAssertEqual(result["only_in_database"] as? Int, 0, "\(type): \(result)")
            XCTAssertEqual(result["changed"] as? Int, 0, "\(type): \(result)")
            XCTAssertEqual((result["only_in_archive_keys"] as? [String])?.count, 1, "\(type): \(result)")
        }
    }

    func testColumnNamesAreKeptByteForByte() throws {
        let nfc = "\u{E9}", nfd = "e\u{301}"
        let source = try database("names", setUp: "CREATE TABLE accents (id int PRIMARY KEY, \"\(nfc)\" text, \"\(nfd)\" text);\nINSERT INTO accents VALUES (1, 'nfc', 'nfd');")
        let archive = try export(source, tables: ["accents"], profile: "names")
        let line = try Command.run(["bash", "-c", "zstd -dc \"$1\" | tar -xO data/public.accents/000001.jsonl", "x", archive])
        XCTAssertEqual(line.status, 0, line.err)
        XCTAssertEqual(line.stdout, Data("{\"id\":1,\"\(nfc)\":\"nfc\",\"\(nfd)\":\"nfd\"}\n".utf8))
        let target = try database("names_target", setUp: "")
        let restored = try restore(archive, into: target)
        XCTAssertEqual(restored.status, 0, restored.err)
        XCTAssertEqual(try copyText("accents", database: target), try copyText("accents", database: source))
    }

    func testWhatCannotBeRestoredExactlyIsRefusedUpFront() throws {
        // OIDs shown as names: refused at export, before anything is written.
        let source = try database("refuse", setUp: """
            CREATE TYPE lossless_color AS ENUM ('red', 'green');
            CREATE DOMAIN lossless_positive AS integer CHECK (VALUE > 0);
            CREATE TABLE refs (id int PRIMARY KEY, r regclass);
            INSERT INTO refs VALUES (1, 'pg_class');
            CREATE TABLE custom (id int PRIMARY KEY, c lossless_color, p lossless_positive);
            INSERT INTO custom VALUES (1, 'red', 5);
            """)
        let config = store.file("refs.yaml")
        try "profiles:\n  - name: refs\n    tables:\n      - table: refs\n".write(toFile: config, atomically: true, encoding: .utf8)
        let before = ExportFixture.files(below: store.path)
        let refused = try PGSealCLI.run(["export", "--db", server.url(database: source), "--to", store.path, "--no-encrypt",
                                         "--sign-key", keys.file("signing-key"), "--config", config, "--profile", "refs"])
        XCTAssertEqual(refused.status, 2, refused.err)
        XCTAssertTrue(refused.err.contains("column r (regclass) cannot be archived exactly"), refused.err)
        XCTAssertEqual(ExportFixture.files(below: store.path), before)

        // Types the target lacks: all of them named before anything is written.
        let archive = try export(source, tables: ["custom"], profile: "custom")
        let target = try database("refuse_target", setUp: "")
        let restored = try restore(archive, into: target)
        XCTAssertEqual(restored.status, 2, restored.err)
        // The enum is recreated from its labels; the domain's CHECK is SQL, so it is named instead.
        XCTAssertTrue(restored.err.contains("lacks types") && restored.err.contains("public.custom.p: lossless_positive")
                      && restored.err.contains("public.lossless_positive: a domain with constraints") && restored.err.contains("VALUE > 0"), restored.err)
        XCTAssertFalse(restored.err.contains("public.custom.c:"), restored.err)
        XCTAssertEqual(try server.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database: target)
            .trimmingCharacters(in: .whitespacesAndNewlines), "0")
        XCTAssertEqual(try server.psql("SELECT count(*) FROM pg_type WHERE typname = 'lossless_color'", database: target)
            .trimmingCharacters(in: .whitespacesAndNewlines), "0", "the rollback must take the created types too")
        // With the domain in place, the rest is recreated and the values come back.
        _ = try server.psql("CREATE DOMAIN lossless_positive AS integer CHECK (VALUE > 0);", database: target)
        let second = try restore(archive, into: target)
        XCTAssertEqual(second.status, 0, second.err)
        XCTAssertEqual(try copyText("custom", database: target), try copyText("custom", database: source))
    }

    func testCreateTablesRecreatesDeclaredProperties() throws {
        let source = try database("declared", setUp: """
            CREATE TABLE declared (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, code text COLLATE "C" NOT NULL,
                                   total int GENERATED ALWAYS AS (id * 2) STORED, note text);
            INSERT INTO declared (code, note) VALUES ('b', NULL), ('a', 'x'), ('B', 'y');
            """)
        let archive = try export(source, tables: ["declared"], profile: "declared")
        let target = try database("declared_target", setUp: "")
        let restored = try restore(archive, into: target)
        XCTAssertEqual(restored.status, 0, restored.err)
        XCTAssertTrue(restored.err.contains("public.declared.total: a stored generated column"), restored.err)
        XCTAssertEqual(try copyText("declared", database: target), try copyText("declared", database: source))
        let catalog = try server.psql("""
            SELECT string_agg(attname || ':' || attnotnull || ':' || attidentity::text || ':' || coalesce(collname::text, '-'), ' ' ORDER BY attnum)
            FROM pg_attribute a LEFT JOIN pg_collation c ON c.oid = a.attcollation AND a.attcollation <> 100
            WHERE attrelid = 'declared'::regclass AND attnum > 0
            """, database: target).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(catalog, "id:true:d:- code:true::C total:false::- note:false::-")
        // The identity continues after the restored rows.
        XCTAssertEqual(try server.psql("INSERT INTO declared (code) VALUES ('z') RETURNING id", database: target)
            .split(separator: "\n").first.map(String.init)?.trimmingCharacters(in: .whitespaces), "4")
    }

    func testRecordedTypesAreRecreatedInAnEmptyDatabase() throws {
        let source = try database("types", setUp: """
            CREATE SCHEMA app;
            CREATE TYPE app.mood AS ENUM ('sad', 'it''s ok', 'happy');
            CREATE TYPE app.pair AS (a int, b app.mood, c varchar(5));
            CREATE DOMAIN app.code AS text NOT NULL;
            CREATE TABLE typed (id int PRIMARY KEY, m app.mood, p app.pair, c app.code, ms app.mood[]);
            INSERT INTO typed VALUES (1, 'it''s ok', ROW(1, 'happy', 'abc'), 'X1', ARRAY['sad', 'happy']::app.mood[]),
                                     (2, NULL, NULL, 'Y', '{}');
            CREATE EXTENSION citext;
            CREATE TABLE extended (id int PRIMARY KEY, x citext);
            INSERT INTO extended VALUES (1, 'MiXeD');
            """)
        let archive = try export(source, tables: ["typed", "extended"], profile: "types")
        let manifest = try Command.run(["bash", "-c", "zstd -dc \"$1\" | tar -xO manifest.json", "x", archive])
        let types = ((try JSONSerialization.jsonObject(with: manifest.stdout) as? [String: Any])?["types"] as? [[String: Any]] ?? [])
        XCTAssertEqual(types.map { "\($0["kind"] ?? "")" }, ["enum", "composite", "domain", "extension"], "\(types)")

        let target = try database("types_target", setUp: "")
        let typed = try restore(archive, into: target, ["--tables", "typed"])
        XCTAssertEqual(typed.status, 0, typed.err)
        XCTAssertEqual(try copyText("typed", database: target), try copyText("typed", database: source))
        XCTAssertEqual(try server.psql("SELECT enum_range(NULL::app.mood)::text", database: target).trimmingCharacters(in: .whitespacesAndNewlines),
                       "{sad,\"it's ok\",happy}")

        let extended = try restore(archive, into: target, ["--tables", "extended"])
        XCTAssertEqual(extended.status, 2, extended.err)
        XCTAssertTrue(extended.err.contains("provided by extension citext") && extended.err.contains("CREATE EXTENSION"), extended.err)
    }
}
