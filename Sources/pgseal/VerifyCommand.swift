import ArgumentParser
import Cryptography
import Display
import Foundation
import Logging
import PGSealKit
import Verify

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Prove an archive authentic and intact (seal), and complete down to every row (deep).",
        discussion: """
            Levels:
              seal  the seal's signature against the trusted signers, and the object's size and
                    SHA-256 against the seal; needs no decryption key (for auditors)
              deep  also decrypts, decompresses and walks the tar: every chunk's size, SHA-256
                    and rows, valid JSON on every line, table digests, no entry missing or
                    unlisted — against the manifest and the seal
              restore  also creates a scratch database on the --scratch-db server, loads every
                    row into tables of the declared types (keys added after the load), reads
                    them back through the same canonical encoder in key order and compares
                    the digests, naming the first differing row; the scratch database is
                    dropped afterwards in every case, unless --keep-scratch
              restore --until POINT  also replays the archive's change segments (pgseal follow)
                    up to POINT in the scratch database and reads the tables back as they
                    stand then; --until-archive LATER replays up to a later base's exact
                    position (export --exact-position) and requires its sealed digests: the
                    proof that base and segments hold every change in between
            Default: deep when --identity is given (or the archive is unencrypted), else seal;
            restore with --until or --until-archive.
            Exit codes: 0 verified; 1 the archive is bad (each problem named: seal signature,
            object hash, age chunk, tar entry, chunk file and line, table); 2 could not verify.

            Example:
              pgseal verify X.tar.zst.age --trusted-key allowed_signers --level seal
              pgseal verify BASE.tar.zst.age --until-archive LATER.tar.zst.age --scratch-db postgres://admin@db/postgres \\
                -i age-identity.txt --trusted-key allowed_signers
            """)

    @OptionGroup var target: ArchiveArgument

    @Option(name: .long, help: ArgumentHelp("seal, deep or restore.", valueName: "level"))
    var level: String?

    @OptionGroup var scratch: ScratchOption

    @Flag(name: .long, help: "Keep the scratch database for inspection.")
    var keepScratch = false

    @Option(name: .long, help: ArgumentHelp("For the restore level: also replay the archive's change segments up to this point (an LSN, an RFC 3339 time, or latest) and read the tables back as they stand then.", valueName: "point"))
    var until: String?

    @Option(name: .long, help: ArgumentHelp("For the restore level: replay the change segments up to this later archive's exact WAL position and require its sealed table digests (continuity).", valueName: "archive"))
    var untilArchive: String?

    @OptionGroup(title: "Trust")
    var trust: TrustOptions

    @Option(name: .long, help: ArgumentHelp("Record the result as an attestation signed with this SSH key (the verifier's own, not the exporter's), stored beside the archive as ARCHIVE.attestation.TIME-LEVEL.json and .sig; check --require-restore-verified-within reads it.", valueName: "file"))
    var attestKey: String?

    @Option(name: [.customShort("j"), .long], help: ArgumentHelp("A partitioned archive's parts read at once, each on two cores of its own (default 1).", valueName: "n"))
    var jobs: Int?

    @OptionGroup var limits: LimitOptions

    @OptionGroup var identities: IdentityOptions

    @OptionGroup(title: "Output") var output: OutputOptions

    @OptionGroup(title: "S3")
    var s3: S3Options

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let level, VerificationReport.Level(rawValue: level) == nil {
            throw ValidationError("--level takes seal, deep or restore, not \(level)")
        }
        if until != nil || untilArchive != nil, let level, level != "restore" {
            throw ValidationError("--until and --until-archive replay changes at the restore level, not at level \(level)")
        }
        if until != nil && untilArchive != nil {
            throw ValidationError("give --until or --until-archive, not both: the later archive's position is the point")
        }
        if let until, ReplayTarget(parsing: until) == nil {
            throw ValidationError("--until \(until.debugDescription): give an LSN (16/B374D848), an RFC 3339 time (2026-12-04T18:00:00Z) or latest")
        }
    }

    func run() throws {
        let context = try CommandContext(global, s3: s3)
        let policy = try trust.policy(environment: context.environment)
        let archive = try target.location(policy: policy, context: context)
        let keys = try identities.keyring()
        let replays = until != nil || untilArchive != nil
        let chosen = level.flatMap(VerificationReport.Level.init(rawValue:))
            ?? (replays ? .restore : !identities.isEmpty || !archive.hasSuffix(".age") ? .deep : .seal)
        var request = VerificationRequest(archive: archive, level: chosen, policy: policy, keys: keys)
        request.scratchDatabaseURL = scratch.url(context)
        request.storeSettings = context.storeSettings
        request.cleanup = context.cleanup
        request.keepScratch = keepScratch
        request.until = until.flatMap(ReplayTarget.init(parsing:))
        request.untilArchive = untilArchive
        if let jobs {
            guard jobs >= 1 else { throw ValidationError("--jobs takes 1 or more") }
            request.partJobs = jobs
        }
        request.limits = limits.limits
        // Loaded before the verification: a key that cannot be read fails in a second, not
        // after an hour's restore.
        let attestationKey = try attestKey.map { try SSHSigningKey.load(file: $0) }
        var result = try PGSeal.verify(request)
        var recording: Error?
        if let attestationKey {
            do { result.attestation = try PGSeal.attest(result, key: attestationKey, storeSettings: context.storeSettings) } catch { recording = error }
        }
        try output.emit(result, human: VerifySummary.lines(result))
        // The verdict is shown whatever happened to its record; a bad archive stays exit 1.
        if let recording {
            HumanOutput.err("pgseal: error: the result was not recorded as an attestation: \(recording)")
            throw result.ok ? CommandVerdict.unfinished(nil) : CommandVerdict.bad(nil)
        }
        if !result.ok { throw CommandVerdict.bad(nil) }
    }
}

enum VerifySummary {
    static func lines(_ report: VerificationReport) -> [String] {
        var lines: [String] = []
        if report.ok {
            lines.append("verified at level \(report.level.rawValue): \(report.archive)")
        } else {
            lines.append("FAILED at level \(report.level.rawValue): \(report.archive)")
            for failure in report.failures { lines.append("  \(failure.location): \(failure.problem)") }
        }
        if let signer = report.signer { lines.append("  seal signed by \(signer)") }
        if let seal = report.seal {
            // Signed, but by an exporter that may be compromised: escaped for the terminal.
            lines.append(Terminal.escaped("  profile \(seal.profile), created \(seal.createdAt), snapshot \(seal.snapshot.isEmpty ? "-" : seal.snapshot) at WAL \(seal.walLSN.isEmpty ? "-" : seal.walLSN)"))
            if report.level == .seal && !seal.tables.isEmpty {
                lines.append(Terminal.escaped("  the seal states: " + seal.tables.map { "\($0.name) \(Format.count($0.rows)) rows" }.joined(separator: " · ")))
            }
        }
        if let attestation = report.attestation { lines.append("  recorded: \(attestation)") }
        if let hash = report.objectSHA256 { lines.append("  object \(Format.bytes(report.objectBytes)) (\(Format.plural(Int(report.objectBytes), "byte"))), sha256 \(hash)") }
        for table in report.tables {
            let restored = table.restoredDigestMatches.map { $0 ? ", restored ok" : ", restored MISMATCH" } ?? ""
            lines.append("  \(table.name): \(table.rows) rows, \(Format.bytes(table.bytes)), digest \(table.digestMatches ? "ok" : "MISMATCH")\(restored) \(table.digest.prefix(16))…")
        }
        if let point = report.pointInTime {
            let replayed = point.replayed
            lines.append("  replayed \(replayed.segments) segment(s), \(replayed.transactions) transaction(s), \(replayed.changes) change(s) up to \(point.target)"
                + (replayed.lastCommit.map { ", last commit \($0)" } ?? ""))
            for table in point.tables {
                let verdict = table.matches.map { $0 ? " = \(point.against ?? "the later base")" : " ≠ \(point.against ?? "the later base") (\(table.expectedRows.map(String.init) ?? "-") rows)" } ?? ""
                lines.append(Terminal.escaped("  at the point: \(table.name) \(table.rows) rows, digest \(table.digest.prefix(16))…\(verdict)"))
            }
        }
        if let scratch = report.scratchDatabase { lines.append("  scratch database \(scratch)") }
        for note in report.notes { lines.append("  note: " + note) }
        let phases = report.phases.sorted { $0.key > $1.key }.map { String(format: "%@ %.2f s", $0.key, $0.value) }
        lines.append(String(format: "  total %.2f s", report.seconds) + (phases.isEmpty ? "" : " (" + phases.joined(separator: ", ") + ")"))
        return lines
    }
}
