import Foundation
import TestSupport
import XCTest

/// `pgseal follow` and `restore --until` against a real server with `wal_level = logical`:
/// changes sealed into segments, replayed onto their base to any point, and compared with the
/// database by an oracle that is not pgseal (psql's COPY text of each table, in key order).
final class FollowTests: XCTestCase {
    /// A database of two tables, keys, a store, and a profile name of its own (slots are
    /// cluster-wide: two tests never share one).
    struct Setup {
        let server: PostgresServer
        let database: String
        let work: TemporaryDirectory
        let name: String
        var url: String { server.url(database: database) }
        var store: String { work.file("store") }
        var keys: String { work.file("keys") }

        func follow(_ extra: [String] = [], tables: [String] = ["public.items", "public.tags"]) throws -> CommandResult {
            try PGSealCLI.run(["follow", "--db", url, "--to", store, "--name", name, "-R", keys + "/age-recipient.txt",
                               "--sign-key", keys + "/signing-key", "--until-caught-up", "--json", "-q"]
                              + tables.flatMap { ["--table", $0] } + extra)
        }

        /// The follower as a service, until SIGTERM; started once the slot is its.
        func service(_ extra: [String] = []) throws -> RunningCommand {
            let running = try PGSealCLI.start(["follow", "--db", url, "--to", store, "--name", name, "-R", keys + "/age-recipient.txt",
                                               "--sign-key", keys + "/signing-key", "--table", "public.items", "--table", "public.tags", "--json"] + extra)
            guard waitUntil(timeout: 20, { (try? slot("active")) == "t" }) else { throw TestSetupError("the service does not follow the slot") }
            return running
        }

        /// The base of the newest chain: the newest archive of tables in the store.
        func newestBase() throws -> String {
            let listed = try PGSealCLI.run(["list", store, "--profile", name, "--trusted-key", keys + "/allowed_signers", "--json"])
            let archives = try JSONDocument(data: listed.stdout)["sealed"].array()
            guard let newest = archives.first else { throw TestSetupError("no base in the store: \(listed.out) \(listed.err)") }
            return try newest["location"].string()
        }

        /// Restores the newest base and its segments up to `point` into a new database; returns its name.
        func restore(until point: String, base: String? = nil, test: XCTestCase) throws -> String {
            let target = try server.emptyDatabase(label: "replayed", for: test)
            let restored = try PGSealCLI.run(["restore", try base ?? newestBase(), "--until", point, "--db", server.url(database: target),
                                              "--create-tables", "-i", keys + "/age-identity.txt", "--trusted-key", keys + "/allowed_signers", "--json"])
            guard restored.status == 0 else { throw TestSetupError("restore --until \(point) failed (\(restored.status)): \(restored.err)") }
            return target
        }

        /// The oracle: each table's rows as psql's COPY text, in key order.
        func contents(of database: String, _ tables: [String] = ["items ORDER BY id", "tags ORDER BY item_id, tag"]) throws -> String {
            try tables.map { try server.psql("COPY (SELECT * FROM \($0)) TO STDOUT", database: database) }.joined(separator: "--\n")
        }

        func insertLSN() throws -> String {
            try server.psql("SELECT pg_current_wal_insert_lsn()", database: database).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func slot(_ column: String) throws -> String {
            try server.psql("SELECT \(column) FROM pg_replication_slots WHERE database = '\(database)'", database: database)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    func setUp(_ label: String) throws -> Setup { try Self.makeSetup(label, for: self) }

    static func makeSetup(_ label: String, for test: XCTestCase) throws -> Setup {
        let server = try PostgresServer.shared()
        let database = try server.emptyDatabase(label: label, for: test)
        try server.psql("""
            CREATE TABLE items (id int PRIMARY KEY, note text, big text, price numeric(10,2), seen timestamptz);
            ALTER TABLE items ALTER COLUMN big SET STORAGE EXTERNAL;
            CREATE TABLE tags (item_id int, tag text, PRIMARY KEY (item_id, tag));
            INSERT INTO items SELECT g, 'note ' || g, NULL, g * 1.5, '2026-01-01 00:00:00+00' FROM generate_series(1, 200) g;
            INSERT INTO tags SELECT g, 't' || (g % 3) FROM generate_series(1, 200) g;
            """, database: database)
        let work = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", work.file("keys"), "--signer", "follower"]).status, 0)
        return Setup(server: server, database: database, work: work, name: "f\(UUID().uuidString.prefix(8).lowercased())")
    }

    func testSegmentsReplayOntoTheirBaseToAnyPointAsCommitted() throws {
        let setup = try setUp("follow")
        let first = try setup.follow()
        XCTAssertEqual(first.status, 0, first.err)
        let firstReport = try JSONDocument(data: first.stdout)
        XCTAssertNotNil(try? firstReport["new_base"].string(), "the first run takes a base")
        XCTAssertEqual(try firstReport["caught_up"].bool(), true)

        let big = String(repeating: "0123456789abcdef", count: 2048)  // 32 KiB, out of line
        try setup.server.psql("INSERT INTO items VALUES (1000, 'big one', '\(big)', 9.99, now())", database: setup.database)
        try setup.server.psql("UPDATE items SET note = 'edited, big untouched' WHERE id = 1000", database: setup.database)
        try setup.server.psql("UPDATE items SET id = 2001, note = 'key changed' WHERE id = 1; UPDATE tags SET item_id = 2001 WHERE item_id = 1",
                              database: setup.database)
        try setup.server.psql("DELETE FROM items WHERE id BETWEEN 10 AND 19; DELETE FROM tags WHERE item_id BETWEEN 10 AND 19", database: setup.database)
        let middle = try setup.insertLSN()
        let middleContents = try setup.contents(of: setup.database)
        // Whole seconds: a time after the middle's commits and before the next ones.
        Thread.sleep(forTimeInterval: 1.1)
        let middleTime = ISO8601DateFormatter().string(from: Date())
        Thread.sleep(forTimeInterval: 1.1)
        try setup.server.psql("TRUNCATE tags", database: setup.database)
        try setup.server.psql("INSERT INTO tags VALUES (1000, 'after truncate'); UPDATE items SET big = NULL, price = NULL WHERE id = 1000", database: setup.database)

        let second = try setup.follow()
        XCTAssertEqual(second.status, 0, second.err)
        let report = try JSONDocument(data: second.stdout)
        XCTAssertEqual(try report["breaks"].array().count, 0)
        let sealed = try report["sealed_lsn"].string()
        XCTAssertEqual(try setup.slot("confirmed_flush_lsn"), sealed, "the slot's position is the sealed one, no further")
        let changes = try report["segments"].array().map { try $0["changes"].int() }.reduce(0, +)
        XCTAssertEqual(changes, 1 + 1 + 2 + 20 + 1 + 2, "every change once: \(report)")

        // To the middle, by LSN and by time: the tables as they were then; to the end: as now.
        XCTAssertEqual(try setup.contents(of: try setup.restore(until: middle, test: self)), middleContents)
        XCTAssertEqual(try setup.contents(of: try setup.restore(until: middleTime, test: self)), middleContents)
        let latest = try setup.restore(until: "latest", test: self)
        XCTAssertEqual(try setup.contents(of: latest), try setup.contents(of: setup.database))
        XCTAssertTrue(middleContents.contains(big), "the TOASTed value an update left alone is kept, never blanked")

        // A run with nothing new seals nothing twice, and a point past what is sealed is refused.
        let third = try setup.follow()
        XCTAssertEqual(third.status, 0, third.err)
        XCTAssertEqual(try JSONDocument(data: third.stdout)["segments"].array().map { try $0["changes"].int() }.reduce(0, +), 0)
        let future = try PGSealCLI.run(["restore", try setup.newestBase(), "--until", "2999-01-01T00:00:00Z", "--db", setup.server.url(database: try setup.server.emptyDatabase(label: "future", for: self)),
                                        "--create-tables", "-i", setup.keys + "/age-identity.txt", "--trusted-key", setup.keys + "/allowed_signers"])
        XCTAssertEqual(future.status, 2, future.err)
        XCTAssertTrue(future.err.contains("do not reach") && future.err.contains("--until latest"), future.err)
    }

    /// A transaction larger than the memory a transaction may hold (100 MiB of change lines
    /// against --spool-memory 1) goes to a temporary file and is sealed whole, with the
    /// follower's peak RSS below the transaction's size; past --max-transaction the follower
    /// stops, names the limit, and the slot keeps the transaction for the next run.
    func testATransactionLargerThanMemoryIsSpooledAndSealedWhole() throws {
        let setup = try setUp("spool")
        XCTAssertEqual(try setup.follow().status, 0)
        try setup.server.psql("""
            BEGIN;
            INSERT INTO items SELECT g, 'bulk ' || g, repeat(md5(g::text), 60), g, now() FROM generate_series(10001, 60000) g;
            UPDATE items SET note = 'in the bulk transaction' WHERE id <= 50;
            DELETE FROM tags WHERE item_id <= 20;
            COMMIT;
            """, database: setup.database)
        let refused = try setup.follow(["--max-transaction", "50"])
        XCTAssertEqual(refused.status, 2, refused.err)
        XCTAssertTrue(refused.err.contains("--max-transaction") && refused.err.contains("the slot did not move past it"), refused.err)

        let measured = try Command.run(["/usr/bin/time", "-f", "peak-rss-kib %M", Repository.pgsealBinary, "follow", "--db", setup.url, "--to", setup.store,
                                        "--name", setup.name, "-R", setup.keys + "/age-recipient.txt", "--sign-key", setup.keys + "/signing-key",
                                        "--until-caught-up", "--json", "-q", "--table", "public.items", "--table", "public.tags", "--spool-memory", "1"])
        XCTAssertEqual(measured.status, 0, measured.err)
        let peak = try XCTUnwrap(measured.err.split(separator: "\n").last { $0.hasPrefix("peak-rss-kib ") }.flatMap { Int($0.dropFirst(13)) })
        let sealed = try JSONDocument(data: measured.stdout)["segments"].array().map { try $0["changes"].int() }.reduce(0, +)
        XCTAssertEqual(sealed, 50_000 + 50 + 20, "every change of the transaction, once: \(measured.out)")
        print("spooled transaction of 50,070 changes: peak RSS \(peak / 1024) MiB")
        XCTAssertLessThan(peak / 1024, 100, "peak RSS in MiB while sealing a transaction of about 100 MiB of change lines")

        let restored = try setup.restore(until: "latest", test: self)
        XCTAssertEqual(try setup.contents(of: restored), try setup.contents(of: setup.database))
    }

    func testAFilteredTableNeedsFullIdentityThenRowsEnterAndLeaveTheProfile() throws {
        let setup = try setUp("filtered")
        try setup.server.psql("ALTER TABLE items ADD COLUMN active boolean NOT NULL DEFAULT true; UPDATE items SET active = (id % 2 = 0)", database: setup.database)
        let config = setup.work.file("pgseal.yaml")
        try """
            profiles:
              - name: \(setup.name)
                tables:
                  - table: public.items
                    columns: [id, note, active]
                    filter: active
            """.write(toFile: config, atomically: true, encoding: .utf8)
        func follow() throws -> CommandResult {
            try PGSealCLI.run(["follow", "--config", config, "--profile", setup.name, "--db", setup.url, "--to", setup.store, "-R", setup.keys + "/age-recipient.txt",
                               "--sign-key", setup.keys + "/signing-key", "--until-caught-up", "--json", "-q"])
        }
        let refused = try follow()
        XCTAssertEqual(refused.status, 2, refused.err)
        XCTAssertTrue(refused.err.contains("REPLICA IDENTITY FULL") && refused.err.contains("public.items"), refused.err)

        try setup.server.psql("ALTER TABLE items REPLICA IDENTITY FULL", database: setup.database)
        let first = try follow()
        XCTAssertEqual(first.status, 0, first.err)
        // The application's ordinary writes: none refused (no publication row filter).
        try setup.server.psql("UPDATE items SET active = true WHERE id = 1", database: setup.database)      // enters
        try setup.server.psql("UPDATE items SET active = false WHERE id = 2", database: setup.database)     // leaves
        try setup.server.psql("UPDATE items SET note = 'outside' WHERE id = 3", database: setup.database)   // stays out
        try setup.server.psql("UPDATE items SET note = 'inside' WHERE id = 4", database: setup.database)    // stays in
        try setup.server.psql("DELETE FROM items WHERE id IN (5, 6); INSERT INTO items (id, note, active) VALUES (500, 'new in', true), (501, 'new out', false)",
                              database: setup.database)
        let second = try follow()
        XCTAssertEqual(second.status, 0, second.err)
        let changes = try JSONDocument(data: second.stdout)["segments"].array().map { try $0["changes"].int() }.reduce(0, +)
        XCTAssertEqual(changes, 1 + 1 + 1 + 1 + 1, "in, out, in-place, one delete of a row in view, one insert in view")
        // One transaction of 1,000 rows entering, leaving and staying: its decisions are asked
        // of the server a batch at a time (256 changes), in order.
        try setup.server.psql("""
            BEGIN;
            INSERT INTO items (id, note, active) SELECT g, 'bulk', g % 3 = 0 FROM generate_series(1001, 1600) g;
            UPDATE items SET active = NOT active, note = 'flipped' WHERE id BETWEEN 1001 AND 1300 OR id BETWEEN 10 AND 109;
            COMMIT;
            """, database: setup.database)
        let third = try follow()
        XCTAssertEqual(third.status, 0, third.err)
        let restored = try setup.restore(until: "latest", test: self)
        XCTAssertEqual(try setup.contents(of: restored, ["items ORDER BY id"]),
                       try setup.server.psql("COPY (SELECT id, note, active FROM items WHERE active ORDER BY id) TO STDOUT", database: setup.database))
    }

    func testTwoFollowersNeverShareASlotAndSIGTERMSealsTheOpenSegment() throws {
        let setup = try setUp("service")
        XCTAssertEqual(try setup.follow().status, 0)
        let service = try setup.service(["--segment-every", "1h"])
        let second = try setup.follow()
        XCTAssertEqual(second.status, 2, second.err)
        XCTAssertTrue(second.err.contains("in use") && second.err.contains("--slot"), second.err)

        try setup.server.psql("INSERT INTO items (id, note) VALUES (3000, 'while serving')", database: setup.database)
        Thread.sleep(forTimeInterval: 1)
        service.signal(SIGTERM)
        let ended = service.wait()
        XCTAssertEqual(ended.status, 0, ended.err)
        let report = try JSONDocument(data: ended.stdout)
        XCTAssertEqual(try report["segments"].array().map { try $0["changes"].int() }.reduce(0, +), 1, "the open segment sealed on SIGTERM: \(report)")
        XCTAssertEqual(try setup.contents(of: try setup.restore(until: "latest", test: self)), try setup.contents(of: setup.database))
    }

    func testALostSlotOrAChangedTableIsABreakHealedByANewBase() throws {
        let setup = try setUp("breaks")
        XCTAssertEqual(try setup.follow().status, 0)
        let firstBase = try setup.newestBase()
        try setup.server.psql("INSERT INTO items (id, note) VALUES (4000, 'before the drop')", database: setup.database)
        XCTAssertEqual(try setup.follow().status, 0)
        try setup.server.psql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '\(setup.database)'", database: setup.database)
        try setup.server.psql("INSERT INTO items (id, note) VALUES (4001, 'unseen by any slot')", database: setup.database)

        let healed = try setup.follow()
        XCTAssertEqual(healed.status, 0, healed.err)
        let report = try JSONDocument(data: healed.stdout)
        XCTAssertTrue(try report["breaks"].strings().contains { $0.contains("missing") }, "\(report)")
        let secondBase = try report["new_base"].string()
        XCTAssertNotEqual(secondBase, firstBase, "a new base")
        // The new base holds what no slot saw; the old chain still replays to its own end.
        XCTAssertEqual(try setup.contents(of: try setup.restore(until: "latest", base: secondBase, test: self)), try setup.contents(of: setup.database))
        XCTAssertTrue(try setup.contents(of: try setup.restore(until: "latest", base: firstBase, test: self)).contains("before the drop"))

        // A column added to a table the profile reads whole: a new chain in the new definitions.
        try setup.server.psql("ALTER TABLE items ADD COLUMN color text; UPDATE items SET color = 'red' WHERE id = 4000", database: setup.database)
        let changed = try setup.follow()
        XCTAssertEqual(changed.status, 0, changed.err)
        let changedReport = try JSONDocument(data: changed.stdout)
        XCTAssertTrue(try changedReport["breaks"].strings().contains { $0.contains("definitions changed") }, changed.out)
        let thirdBase = try changedReport["new_base"].string()
        try setup.server.psql("UPDATE items SET color = 'blue' WHERE id = 4001", database: setup.database)
        XCTAssertEqual(try setup.follow().status, 0)
        XCTAssertEqual(try setup.contents(of: try setup.restore(until: "latest", base: thirdBase, test: self)), try setup.contents(of: setup.database))

        // While a follower streams, a column the profile reads appears: the session ends its
        // chain where the change begins, and a new base starts the next.
        let service = try setup.service(["-q"])
        try setup.server.psql("UPDATE items SET note = 'before the second column' WHERE id = 4000", database: setup.database)
        try setup.server.psql("ALTER TABLE items ADD COLUMN size int; UPDATE items SET size = 7 WHERE id = 4001", database: setup.database)
        Thread.sleep(forTimeInterval: 3)
        service.signal(SIGTERM)
        let served = service.wait()
        XCTAssertEqual(served.status, 0, served.err)
        let servedReport = try JSONDocument(data: served.stdout)
        XCTAssertTrue(try servedReport["breaks"].strings().contains { $0.contains("size") }, served.out)
        XCTAssertEqual(try setup.contents(of: try setup.restore(until: "latest", base: try servedReport["new_base"].string(), test: self)),
                       try setup.contents(of: setup.database))
    }
}

extension FollowTests {
    func testAServiceReconnectsWhenItsConnectionIsCut() throws {
        let setup = try setUp("reconnect")
        XCTAssertEqual(try setup.follow().status, 0)
        let service = try setup.service()
        try setup.server.psql("INSERT INTO items (id, note) VALUES (5000, 'before the cut')", database: setup.database)
        try setup.server.psql("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = '\(setup.database)'", database: setup.database)
        XCTAssertTrue(waitUntil(timeout: 30) { (try? setup.slot("active")) == "t" }, "the service follows the slot again")
        try setup.server.psql("INSERT INTO items (id, note) VALUES (5001, 'after the cut')", database: setup.database)
        Thread.sleep(forTimeInterval: 1.5)
        service.signal(SIGTERM)
        let ended = service.wait()
        XCTAssertEqual(ended.status, 0, ended.err)
        XCTAssertTrue(ended.err.contains("connecting again"), ended.err)
        XCTAssertEqual(try setup.contents(of: try setup.restore(until: "latest", test: self)), try setup.contents(of: setup.database))
    }

    /// Segments signed by the follower's own key but written by someone else: whatever they
    /// hold reaches the database only as parameters, after the checks — or not at all.
    func testHostileSegmentsSignedByTheFollowersKeyAreRefusedOrStayData() throws {
        let setup = try setUp("hostile")
        XCTAssertEqual(try setup.follow().status, 0)
        try setup.server.psql("INSERT INTO items (id, note) VALUES (6000, 'genuine')", database: setup.database)
        XCTAssertEqual(try setup.follow().status, 0)
        let base = try setup.newestBase()
        let segment = try XCTUnwrap((FileManager.default.enumerator(atPath: setup.store + "/" + setup.name + "/changes")?.allObjects as? [String] ?? [])
            .filter { $0.hasSuffix(".tar.zst.age") }.sorted().last.map { setup.store + "/" + setup.name + "/changes/" + $0 })
        let original = try Data(contentsOf: URL(fileURLWithPath: segment))
        let originalSeal = try Data(contentsOf: URL(fileURLWithPath: segment + ".seal"))
        let originalSignature = try Data(contentsOf: URL(fileURLWithPath: segment + ".seal.sig"))

        /// Rewrites the segment's first chunk with `python` (a function body over `lines`) and
        /// seals and signs it again with the follower's key, as an insider could.
        func forge(_ python: String) throws {
            try original.write(to: URL(fileURLWithPath: segment))
            try originalSeal.write(to: URL(fileURLWithPath: segment + ".seal"))
            try originalSignature.write(to: URL(fileURLWithPath: segment + ".seal.sig"))
            let script = """
                set -euo pipefail
                seg="$1"; keys="$2"; dir=$(mktemp -d)
                age -d -i "$keys/age-identity.txt" "$seg" | zstd -dc | tar -x -C "$dir"
                python3 - "$dir" <<'PY'
                import hashlib, json, re, sys
                d = sys.argv[1]
                path = d + "/changes/000001.jsonl"
                lines = open(path).read().splitlines()
                \(python)
                open(path, "w").write("".join(l + "\\n" for l in lines))
                m = json.load(open(d + "/manifest.json"))
                data = open(path, "rb").read()
                m["chunks"][0]["sha256"] = hashlib.sha256(data).hexdigest()
                m["chunks"][0]["lines"] = len(lines)
                # The counts as the lines now give them, so that a line is what is judged.
                tables = [found.group(1) for l in lines if (found := re.search('"table":"([^"]*)"', l))]
                m["range"]["changes"] = len(lines)
                for t in m["range"]["tables"]:
                    t["changes"] = tables.count(t["name"])
                json.dump(m, open(d + "/manifest.json", "w"))
                PY
                (cd "$dir" && tar -cf - tables.json changes/000001.jsonl manifest.json) | zstd -q -c | age -R "$keys/age-recipient.txt" > "$seg"
                python3 - "$seg" "$dir/manifest.json" <<'PY'
                import hashlib, json, os, sys
                seg, manifest = sys.argv[1], sys.argv[2]
                s = json.load(open(seg + ".seal"))
                s["size"] = os.path.getsize(seg)
                s["sha256"] = hashlib.sha256(open(seg, "rb").read()).hexdigest()
                s["manifest_sha256"] = hashlib.sha256(open(manifest, "rb").read()).hexdigest()
                s["changes"] = json.load(open(manifest))["range"]
                open(seg + ".seal", "w").write(json.dumps(s, indent=2, sort_keys=True) + "\\n")
                PY
                rm -f "$seg.seal.sig"
                ssh-keygen -q -Y sign -f "$keys/signing-key" -n pgseal "$seg.seal"
                """
            let forged = try Command.run(["bash", "-c", script, "forge", segment, setup.keys])
            XCTAssertEqual(forged.status, 0, forged.err)
        }
        func restore() throws -> (result: CommandResult, database: String) {
            let target = try setup.server.emptyDatabase(label: "hostile", for: self)
            return (try PGSealCLI.run(["restore", base, "--until", "latest", "--db", setup.server.url(database: target),
                                       "--create-tables", "-i", setup.keys + "/age-identity.txt", "--trusted-key", setup.keys + "/allowed_signers"]), target)
        }
        let cases: [(python: String, expected: String)] = [
            // A table name that is SQL: never pasted, refused as undefined.
            (#"lines[0] = lines[0].replace('"table":"public.items"', '"table":"public.items\\"; DROP TABLE tags; --"')"#, "not defined in the segment"),
            // A key that is not the column's encoding.
            (#"lines[0] = lines[0].replace('"key":[6000]', '"key":["6000); DROP TABLE tags; --"]')"#, "not a canonical"),
            // A number no column holds; a line outside the segment's range; a line twice.
            (#"lines[0] = lines[0].replace('"key":[6000]', '"key":[1e999999]')"#, "integer column"),
            (#"lines[0] = lines[0].replace('"lsn":"', '"lsn":"F', 1)"#, "outside the segment's range"),
            (#"lines.append(lines[0])"#, "already there"),
            (#"lines[0] = lines[0][:-1]"#, "expected }"),
        ]
        for (python, expected) in cases {
            try forge(python)
            let (refused, target) = try restore()
            XCTAssertEqual(refused.status, 1, "\(python): \(refused.err)")
            XCTAssertTrue(refused.err.contains(expected), "\(python): \(refused.err)")
            XCTAssertEqual(try setup.server.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database: target)
                .trimmingCharacters(in: .whitespacesAndNewlines), "0", "nothing committed")
        }
        // SQL as a value is only data.
        try forge(#"lines[0] = lines[0].replace('"note":"genuine"', '"note":"x\'); DROP TABLE items; --"')"#)
        let (stored, target) = try restore()
        XCTAssertEqual(stored.status, 0, stored.err)
        XCTAssertEqual(try setup.server.psql("SELECT note FROM items WHERE id = 6000", database: target), "x'); DROP TABLE items; --\n")
    }
}

extension FollowTests {
    func testSegmentsInS3ReplayFromThere() throws {
        let setup = try setUp("s3follow")
        let s3 = try S3Server.shared()
        let store = "s3://\(try s3.makeBucket())/pgseal/"
        func follow() throws -> CommandResult {
            try PGSealCLI.run(["follow", "--db", setup.url, "--to", store, "--name", setup.name, "--table", "public.items", "--table", "public.tags",
                               "-R", setup.keys + "/age-recipient.txt", "--sign-key", setup.keys + "/signing-key", "--until-caught-up", "--json", "-q"],
                              environment: s3.environment())
        }
        let first = try follow()
        XCTAssertEqual(first.status, 0, first.err)
        let base = try JSONDocument(data: first.stdout)["new_base"].string()
        XCTAssertTrue(base.hasPrefix(store), base)
        try setup.server.psql("UPDATE items SET note = 'in s3' WHERE id < 50; DELETE FROM tags WHERE item_id > 150", database: setup.database)
        let second = try follow()
        XCTAssertEqual(second.status, 0, second.err)
        let target = try setup.server.emptyDatabase(label: "froms3", for: self)
        let restored = try PGSealCLI.run(["restore", base, "--until", "latest", "--db", setup.server.url(database: target), "--create-tables",
                                          "-i", setup.keys + "/age-identity.txt", "--trusted-key", setup.keys + "/allowed_signers"],
                                         environment: s3.environment())
        XCTAssertEqual(restored.status, 0, restored.err)
        XCTAssertEqual(try setup.contents(of: target), try setup.contents(of: setup.database))
    }
}
