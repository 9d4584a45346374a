import Foundation
import TestSupport
import XCTest

/// Each attack of an archive's writer against the reader (docs/SECURITY.md), against the real
/// PostgreSQL: the planted SQL must not run, the command must end with exit 1 (tampered) or 2
/// (refused) and name the cause, never trap; bombs are stopped in seconds with bounded memory.
final class TrustBoundaryTests: XCTestCase {
    var keys: TemporaryDirectory!
    var store: TemporaryDirectory!
    /// A signed, unencrypted archive of the built-in profile (users has the filter is_active).
    var archive: String!
    let planted = "pg_create_physical_replication_slot($$pgseal_attack$$) IS NOT NULL"

    override func setUpWithError() throws {
        keys = try TemporaryDirectory()
        store = try TemporaryDirectory()
        archive = try Tampering.signedExport(keys: keys, store: store)
        _ = try PostgresServer.shared().psql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'pgseal_attack'")
    }

    var trusted: [String] { ["--trusted-key", keys.file("allowed_signers")] }

    func slots() throws -> String {
        try PostgresServer.shared().psql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgseal_attack'")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func emptyDatabase(_ label: String) throws -> String {
        try PostgresServer.shared().emptyDatabase(label: "trust_\(label)", for: self)
    }

    /// A copy whose tables.json (and manifest) declare `edit` (a Python statement on `t`, each table).
    /// `reseal`: signed by an insider; `objectOnly`: the seal re-signed for the new object but
    /// still naming the old definitions (only `tables_sha256` can tell).
    func withDefinitions(_ label: String, _ edit: String, reseal: Bool = false, objectOnly: Bool = false, keepSeal: Bool = true) throws -> String {
        let copy = try Tampering.copy(archive, to: store.file("case-\(label)"))
        let work = store.file("work-\(label)")
        let python = "import json, sys\nfor f in ['tables.json', 'manifest.json']:\n  d = json.load(open(f))\n  for t in d['tables']:\n    \(edit)\n  json.dump(d, open(f, 'w'))"
        try python.write(toFile: store.file("edit-\(label).py"), atomically: true, encoding: .utf8)
        try Tampering.rebuildUnencrypted(copy, work: work, edit: "python3 \(store.file("edit-\(label).py"))")
        if reseal || objectOnly { try Tampering.reseal(copy, work: work, keys: keys.path, manifest: reseal, tables: reseal) }
        if !keepSeal {
            for suffix in [".seal", ".seal.sig"] { try FileManager.default.removeItem(atPath: copy + suffix) }
        }
        return copy
    }

    func assertNoTrap(_ result: CommandResult, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue([1, 2].contains(result.status), "exit \(result.status): \(result.err)", file: file, line: line)
    }

    func testAPlantedTypeNeverReachesTheServer() throws {
        let edit = "[c.update(type='text CHECK (\(planted))') for c in t['columns'] if c['name'] == 'email']"
        // The genuine seal kept: the definitions no longer match it.
        let tampered = try withDefinitions("type-sealed", edit)
        let target = try emptyDatabase("type")
        let url = try PostgresServer.shared().url(database: target)
        let refused = try PGSealCLI.run(["restore", tampered, "--db", url, "--create-tables"] + trusted)
        XCTAssertEqual(refused.status, 1, refused.err)
        // Whichever the reader meets first: the definitions or the object against the seal.
        XCTAssertTrue(refused.err.contains("object: ") || refused.err.contains("tables_sha256"), refused.err)
        let definitionsOnly = try withDefinitions("type-definitions", edit, objectOnly: true)
        let caught = try PGSealCLI.run(["restore", definitionsOnly, "--db", url, "--create-tables"] + trusted)
        XCTAssertEqual(caught.status, 1, caught.err)
        XCTAssertTrue(caught.err.contains("tables.json") && caught.err.contains("tables_sha256"), caught.err)
        // Without a seal, read anyway: the type is refused as no type name.
        let unsigned = try withDefinitions("type-unsigned", edit, keepSeal: false)
        let noSeal = try PGSealCLI.run(["restore", unsigned, "--db", url, "--create-tables"] + trusted)
        XCTAssertEqual(noSeal.status, 1, noSeal.err)
        XCTAssertTrue(noSeal.err.contains("is missing") && noSeal.err.contains("--insecure-unsigned"), noSeal.err)
        let insecure = try PGSealCLI.run(["restore", unsigned, "--db", url, "--create-tables", "--insecure-unsigned"])
        XCTAssertEqual(insecure.status, 2, insecure.err)
        XCTAssertTrue(insecure.err.contains("declared type") && insecure.err.contains("refused"), insecure.err)
        // Signed by an insider: still only a type name is accepted.
        let insider = try withDefinitions("type-insider", edit, reseal: true)
        let signed = try PGSealCLI.run(["restore", insider, "--db", url, "--create-tables"] + trusted)
        XCTAssertEqual(signed.status, 2, signed.err)
        XCTAssertTrue(signed.err.contains("declared type"), signed.err)
        XCTAssertEqual(try slots(), "0", "the planted SQL ran")
        XCTAssertEqual(try PostgresServer.shared().psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database: target)
            .trimmingCharacters(in: .whitespacesAndNewlines), "0")
        // The genuine archive restores.
        let genuine = try PGSealCLI.run(["restore", archive, "--db", url, "--create-tables"] + trusted)
        XCTAssertEqual(genuine.status, 0, genuine.err)
    }

    func testAPlantedFilterNeverRunsInDiff() throws {
        let edit = "if t['name'] == 'users': t['filter'] = '\(planted)'"
        let url = try ExportFixture.url()
        let tampered = try withDefinitions("filter-sealed", edit)
        let sealed = try PGSealCLI.run(["diff", tampered, "--db", url] + trusted)
        XCTAssertEqual(sealed.status, 1, sealed.err)
        XCTAssertTrue(sealed.err.contains("object: ") || sealed.err.contains("tables_sha256"), sealed.err)
        let definitionsOnly = try PGSealCLI.run(["diff", try withDefinitions("filter-definitions", edit, objectOnly: true), "--db", url] + trusted)
        XCTAssertEqual(definitionsOnly.status, 1, definitionsOnly.err)
        XCTAssertTrue(definitionsOnly.err.contains("tables_sha256"), definitionsOnly.err)
        let unsigned = try withDefinitions("filter-unsigned", edit, keepSeal: false)
        let insecure = try PGSealCLI.run(["diff", unsigned, "--db", url, "--insecure-unsigned"])
        XCTAssertEqual(insecure.status, 2, insecure.err)
        XCTAssertTrue(insecure.err.contains("row filter") && insecure.err.contains("public.users"), insecure.err)
        let noKey = try PGSealCLI.run(["diff", archive, "--db", url])
        XCTAssertEqual(noKey.status, 2, noKey.err)
        XCTAssertTrue(noKey.err.contains("--trusted-key"), noKey.err)
        XCTAssertEqual(try slots(), "0", "the planted SQL ran")
        // The genuine archive, against its own database, read with one connection at a time.
        let genuine = try PGSealCLI.run(["diff", archive, "--db", url, "--max-connections", "1"] + trusted)
        XCTAssertEqual(genuine.status, 0, genuine.out + genuine.err)
        XCTAssertTrue(genuine.out.contains("no difference"), genuine.out)
    }

    func testALoneSurrogateIsTamperingNotATrap() throws {
        let copy = try Tampering.copy(archive, to: store.file("case-surrogate"))
        let work = store.file("work-surrogate")
        let edit = #"sed -i '1s/"id":"[^"]*"/"id":"\\ud800\\u0041"/' data/public.users/000001.jsonl"#
        try Tampering.rebuildUnencrypted(copy, work: work, edit: edit)
        let prometheus = store.file("metrics.prom")
        try "pgseal_archive_ok{profile=\"kessan-user-data\"} 1\n".write(toFile: prometheus, atomically: true, encoding: .utf8)
        let url = try ExportFixture.url()
        for arguments in [["verify", copy, "--level", "deep"], ["diff", copy, "--db", url],
                          ["restore", copy, "--db", try PostgresServer.shared().url(database: try emptyDatabase("surrogate")), "--create-tables"]] {
            let result = try PGSealCLI.run(arguments + trusted)
            XCTAssertEqual(result.status, 1, "\(arguments[0]): \(result.err)")
            XCTAssertTrue((result.out + result.err).contains("object: "), "\(arguments[0]): \(result.out)\(result.err)")
        }
        let check = try PGSealCLI.run(["check", (copy as NSString).deletingLastPathComponent, "--max-age", "1h", "--level", "deep",
                                       "--metrics-file", prometheus] + trusted)
        XCTAssertEqual(check.status, 1, check.out + check.err)
        let metrics = try String(contentsOfFile: prometheus, encoding: .utf8)
        XCTAssertTrue(metrics.contains("pgseal_archive_ok{profile=\"kessan-user-data\"} 0"), metrics)
        // An insider's signature over it: the row itself is named.
        try Tampering.reseal(copy, work: work, keys: keys.path)
        let deep = try PGSealCLI.run(["verify", copy, "--level", "deep"] + trusted)
        XCTAssertEqual(deep.status, 1, deep.err)
        XCTAssertTrue(deep.out.contains("data/public.users/000001.jsonl:1") && deep.out.contains("surrogate"), deep.out + deep.err)
    }

    func testRowsThatAreNotTheDeclaredShapeFailTheDeepLevel() throws {
        let copy = try Tampering.copy(archive, to: store.file("case-shape"))
        let work = store.file("work-shape")
        try Tampering.rebuildUnencrypted(copy, work: work, edit: "sed -i '2s/.*/[1,2]/' data/public.user_profiles/000001.jsonl")
        try Tampering.reseal(copy, work: work, keys: keys.path)
        let deep = try PGSealCLI.run(["verify", copy, "--level", "deep"] + trusted)
        XCTAssertEqual(deep.status, 1, deep.err)
        XCTAssertTrue(deep.out.contains("data/public.user_profiles/000001.jsonl:2") && deep.out.contains("not a canonical pgseal row"), deep.out + deep.err)
    }

    /// Peak RSS (KiB) and exit status of a pgseal run, measured by the parent's getrusage.
    /// Runs pgseal under getrusage; `err` holds its stdout and stderr.
    func measured(_ arguments: [String]) throws -> (status: Int32, kib: Int, err: String, seconds: Double) {
        let started = Date()
        let script = "import resource, subprocess, sys\np = subprocess.run(sys.argv[1:], capture_output=True)\nsys.stderr.buffer.write(p.stdout + p.stderr)\nprint(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
        let result = try Command.run(["python3", "-c", script, Repository.pgsealBinary] + arguments)
        let fields = result.out.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return (Int32(fields.first ?? -1), fields.last ?? -1, result.err, Date().timeIntervalSince(started))
    }

    func testDecompressionBombsAreStoppedWithFlatMemory() throws {
        // 512 MiB in one line: past the row limit long before the end.
        let line = try Tampering.copy(archive, to: store.file("case-line"))
        try Tampering.bomb(line, entry: "data/public.users/000001.jsonl", pattern: "b'a' * 65536", repeats: 8192)
        let objectSize = try fileSize(line)
        XCTAssertLessThan(objectSize, 1 << 20, "the bomb should be small")
        let long = try measured(["verify", line, "--level", "deep"] + trusted)
        XCTAssertEqual(long.status, 1, long.err)
        XCTAssertTrue(long.err.contains("longer than") || long.err.contains("more than"), long.err)
        XCTAssertTrue(long.err.contains("object:"), long.err)
        print(String(format: "bomb: one 512 MiB line, verify deep: exit %d, peak RSS %.0f MiB, %.2f s", long.status, Double(long.kib) / 1024, long.seconds))
        XCTAssertLessThan(long.kib, 256 * 1024, "peak RSS \(long.kib) KiB")
        XCTAssertLessThan(long.seconds, 30)
        // 512 MiB of empty lines: more rows than the seal states, then the rest only hashed.
        let lines = try Tampering.copy(archive, to: store.file("case-lines"))
        try Tampering.bomb(lines, entry: "data/public.users/000001.jsonl", pattern: "b'\\n' * 65536", repeats: 8192)
        for command in [["verify", lines, "--level", "deep"], ["diff", lines, "--db", try ExportFixture.url()]] {
            let run = try measured(command + trusted)
            XCTAssertEqual(run.status, 1, "\(command[0]): \(run.err)")
            print(String(format: "bomb: 512 MiB of newlines, %@: exit %d, peak RSS %.0f MiB, %.2f s", command[0], run.status, Double(run.kib) / 1024, run.seconds))
            XCTAssertLessThan(run.kib, 256 * 1024, "\(command[0]) peak RSS \(run.kib) KiB")
            XCTAssertLessThan(run.seconds, 30, "\(command[0]) took \(run.seconds) s")
        }
    }

    func testAForgedSealNeverTakesAGenuineArchivesPlace() throws {
        Thread.sleep(forTimeInterval: 1.1)
        let second = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", store.path, "--no-encrypt",
                                        "--sign-key", keys.file("signing-key"), "--progress", "never"])
        XCTAssertEqual(second.status, 0, second.err)
        let newest = second.out.trimmingCharacters(in: .newlines)
        let forged = store.file("kessan-user-data/2099/01/01/kessan-user-data-20990101T000000Z.tar.zst")
        try FileManager.default.createDirectory(atPath: (forged as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try "junk".write(toFile: forged, atomically: true, encoding: .utf8)
        var seal = try String(contentsOfFile: archive + ".seal", encoding: .utf8)
        seal = seal.replacingOccurrences(of: (archive as NSString).lastPathComponent, with: (forged as NSString).lastPathComponent)
        seal = seal.replacingOccurrences(of: #""created_at" : "[^"]*""#, with: "\"created_at\" : \"2099-01-01T00:00:00Z\"", options: .regularExpression)
        try seal.write(toFile: forged + ".seal", atomically: true, encoding: .utf8)
        try "not a signature".write(toFile: forged + ".seal.sig", atomically: true, encoding: .utf8)

        let pruned = try PGSealCLI.run(["prune", store.path, "--keep-days", "0", "--keep-last", "1"] + trusted)
        XCTAssertEqual(pruned.status, 0, pruned.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: newest), "prune deleted the newest genuine archive: \(pruned.out)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: newest + ".seal.sig"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: archive), "the older genuine archive is past retention")
        XCTAssertTrue(FileManager.default.fileExists(atPath: forged), "a seal that does not verify is never a reason to delete")
        XCTAssertTrue(pruned.out.contains("unverified") && pruned.out.contains("20990101T000000Z"), pruned.out)

        let listed = try PGSealCLI.run(["list", store.path, "--json"] + trusted)
        let catalog = try JSONDocument(data: listed.stdout)
        XCTAssertEqual(try catalog["sealed"].array().map { try $0["location"].string() }, [newest])
        XCTAssertEqual(try catalog["unverified"].array().first?["trust"].string(), "invalid")
        let check = try PGSealCLI.run(["check", store.path, "--max-age", "1h"] + trusted)
        XCTAssertEqual(check.status, 0, check.out + check.err)
        XCTAssertTrue(check.out.contains(newest), check.out)
        // A profile whose only archive is forged is missing, not forgotten.
        let other = store.file("other-profile/other-profile-20990101T000000Z.tar.zst")
        try FileManager.default.createDirectory(atPath: (other as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        for suffix in ["", ".seal", ".seal.sig"] { try FileManager.default.copyItem(atPath: forged + suffix, toPath: other + suffix) }
        let missing = try PGSealCLI.run(["check", store.path, "--max-age", "1h"] + trusted)
        XCTAssertEqual(missing.status, 1, missing.out + missing.err)
        XCTAssertTrue(missing.out.contains("other-profile: missing") && missing.out.contains("1 whose seal does not verify"), missing.out)
        let withoutKeys = try PGSealCLI.run(["list", store.path])
        XCTAssertTrue(withoutKeys.out.contains("unverified") && withoutKeys.out.contains("no --trusted-key"), withoutKeys.out)
    }

    func testNamesThatWouldEscapeOrBreakTheArchiveAreRefused() throws {
        let config = store.file("bad.yaml")
        try "profiles:\n  - name: ../../escape\n    tables:\n      - table: users\n".write(toFile: config, atomically: true, encoding: .utf8)
        let out = try TemporaryDirectory()
        let profile = try PGSealCLI.run(["export", "--db", try ExportFixture.url(), "--to", out.file("store"), "--no-encrypt", "--no-sign",
                                         "--config", config, "--profile", "../../escape"])
        XCTAssertEqual(profile.status, 2, profile.err)
        XCTAssertTrue(profile.err.contains("profile name"), profile.err)
        XCTAssertEqual(ExportFixture.files(below: out.path), [])

        let server = try PostgresServer.shared()
        let database = try emptyDatabase("names")
        _ = try server.psql("CREATE TABLE \"a/b\" (id int PRIMARY KEY); INSERT INTO \"a/b\" VALUES (1)", database: database)
        try "profiles:\n  - name: slash\n    tables:\n      - table: a/b\n".write(toFile: config, atomically: true, encoding: .utf8)
        let slash = try PGSealCLI.run(["export", "--db", server.url(database: database), "--to", out.file("store"), "--no-encrypt", "--no-sign",
                                       "--config", config, "--profile", "slash"])
        XCTAssertEqual(slash.status, 2, slash.out + slash.err)
        XCTAssertTrue(slash.err.contains("cannot be exported") && slash.err.contains("'/'"), slash.err)
        XCTAssertEqual(ExportFixture.files(below: out.path), [])
    }

    func testNamesFromTheArchiveArePrintedEscaped() throws {
        let copy = try Tampering.copy(archive, to: store.file("case-escape"))
        let work = store.file("work-escape")
        try Tampering.rebuildUnencrypted(copy, work: work, edit: #"mkdir -p "data/x$(printf '\033')[2J" && echo '{}' > "data/x$(printf '\033')[2J/000001.jsonl""#)
        try Tampering.reseal(copy, work: work, keys: keys.path)
        let deep = try PGSealCLI.run(["verify", copy, "--level", "deep"] + trusted)
        XCTAssertEqual(deep.status, 1, deep.err)
        XCTAssertFalse((deep.out + deep.err).contains("\u{1b}"), "an escape sequence reached the terminal")
        XCTAssertTrue(deep.out.contains("\\u{1b}[2J"), deep.out + deep.err)
    }

    func testAStaleScratchDatabaseIsRemovedByTheNextRestoreVerification() throws {
        let server = try PostgresServer.shared()
        _ = try server.psql("DROP DATABASE IF EXISTS pgseal_verify_20200101t000000_abcd")
        _ = try server.psql("CREATE DATABASE pgseal_verify_20200101t000000_abcd")
        let result = try PGSealCLI.run(["verify", archive, "--level", "restore", "--scratch-db", server.superuserURL] + trusted)
        XCTAssertEqual(result.status, 0, result.err)
        let left = try server.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'pgseal\\_verify\\_%'").trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(left, "0", "the stale scratch database of a killed verification is still there")
    }

    func testADirectoryOrASidecarIsNotAnArchive() throws {
        let directory = try PGSealCLI.run(["verify", ".", "--level", "seal"] + trusted)
        XCTAssertEqual(directory.status, 2, directory.err)
        XCTAssertTrue(directory.err.contains("is a directory"), directory.err)
        let relative = try Command.run(["bash", "-c", "cd \"$1\" && \"$2\" inspect kessan-user-data --trusted-key \"$3\"", "x",
                                        store.path, Repository.pgsealBinary, keys.file("allowed_signers")])
        XCTAssertEqual(relative.status, 2, relative.err)
        let sidecar = try PGSealCLI.run(["verify", archive + ".seal", "--level", "seal"] + trusted)
        XCTAssertEqual(sidecar.status, 2, sidecar.err)
        XCTAssertTrue(sidecar.err.contains("give the archive itself"), sidecar.err)
    }

    func testARowPastTheReadersLimitIsRefusedAtExport() throws {
        let database = try emptyDatabase("bigrow")
        _ = try PostgresServer.shared().psql("CREATE TABLE big_row (id int PRIMARY KEY, t text); INSERT INTO big_row VALUES (1, 'small'), (2, repeat('x', 67108864))",
                                             database: database)
        let out = try TemporaryDirectory()
        let config = out.file("p.yaml")
        try "profiles:\n  - name: big\n    tables:\n      - table: big_row\n".write(toFile: config, atomically: true, encoding: .utf8)
        let result = try PGSealCLI.run(["export", "--db", try PostgresServer.shared().url(database: database), "--to", out.file("store"),
                                        "--no-encrypt", "--no-sign", "--config", config, "--profile", "big", "--progress", "never"])
        XCTAssertEqual(result.status, 2, result.err)
        XCTAssertTrue(result.err.contains("public.big_row") && result.err.contains("the row [2]") && result.err.contains("67108864"), result.err)
        XCTAssertEqual(ExportFixture.files(below: out.file("store")), [])
    }

    /// Recorded types are data: a hostile enum label stays a label, a field "type" that is SQL is
    /// refused — even from an insider's signed archive.
    func testRecordedTypesNeverBecomeSQL() throws {
        func withTypes(_ label: String, _ types: String) throws -> String {
            let copy = try Tampering.copy(archive, to: store.file("case-\(label)"))
            let work = store.file("work-\(label)")
            let python = "import json\nfor f in ['tables.json', 'manifest.json']:\n  d = json.load(open(f))\n  d['types'] = \(types)\n  json.dump(d, open(f, 'w'))"
            try python.write(toFile: store.file("types-\(label).py"), atomically: true, encoding: .utf8)
            try Tampering.rebuildUnencrypted(copy, work: work, edit: "python3 \(store.file("types-\(label).py"))")
            try Tampering.reseal(copy, work: work, keys: keys.path, manifest: true)
            return copy
        }
        let label = "a'); DROP SCHEMA public CASCADE; --"  // labels hold at most 63 bytes
        let enumArchive = try withTypes("enum", "[{'schema': 'public', 'name': 'evil', 'kind': 'enum', 'labels': [\"\(label)\"]}]")
        let target = try emptyDatabase("types")
        let url = try PostgresServer.shared().url(database: target)
        let restored = try PGSealCLI.run(["restore", enumArchive, "--db", url, "--create-tables"] + trusted)
        XCTAssertEqual(restored.status, 0, restored.err)
        XCTAssertEqual(try PostgresServer.shared().psql("SELECT enum_range(NULL::public.evil)::text", database: target)
            .trimmingCharacters(in: .whitespacesAndNewlines), "{\"\(label)\"}")

        let field = "int CHECK (\(planted))"
        let compositeArchive = try withTypes("composite", "[{'schema': 'public', 'name': 'evil2', 'kind': 'composite', 'fields': [{'name': 'a', 'type': '\(field)'}]}]")
        let refused = try PGSealCLI.run(["restore", compositeArchive, "--db", try PostgresServer.shared().url(database: try emptyDatabase("types2")),
                                         "--create-tables"] + trusted)
        XCTAssertEqual(refused.status, 2, refused.err)
        XCTAssertTrue(refused.err.contains("not a type name"), refused.err)
        XCTAssertEqual(try slots(), "0", "the planted SQL ran")
    }
}
