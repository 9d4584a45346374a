import ArgumentParser
import Display
import Foundation
import Logging
import ObjectStore
import Operations
import PGSealKit

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List a store's sealed archives, newest first; apart, incomplete ones and unfinished uploads.",
        discussion: """
            An archive without a signed seal (.seal.sig) is not an archive: an interrupted or \
            unsigned export. Seals are read, not verified: use verify or check for that.

            Example:
              pgseal list s3://kessan-backups/pgseal/ --profile kessan-user-data
            """)

    @Argument(help: ArgumentHelp("A store: a directory or s3://bucket/prefix/.", valueName: "store"))
    var store: String

    @Option(name: .long, help: ArgumentHelp("Only this profile's archives.", valueName: "name"))
    var profile: String?

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @OptionGroup(title: "Trust (without trusted signers, seals are listed as unverified)")
    var trust: TrustOptions

    @OptionGroup(title: "S3")
    var s3: S3Options

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let context = try CommandContext(global, s3: s3)
        let files = trust.files(environment: context.environment)
        let catalog = try PGSeal.list(in: store, profile: profile, signers: files.isEmpty ? nil : try trust.policy(environment: context.environment, files: files).signers,
                                       storeSettings: context.storeSettings)
        if json {
            print(try ReportFile.json(catalog))
            return
        }
        if catalog.sealed.isEmpty {
            HumanOutput.out(files.isEmpty ? "no archive verified (give --trusted-key to check the seals)" : "no sealed archive")
        } else {
            // One aligned line per archive, its tables' rows on the line below.
            let rows = catalog.sealed.map { entry -> [String] in
                let contents = entry.files.map { Format.plural($0, "file") } ?? (entry.totalRows.map { Format.plural($0, "row") } ?? "more rows than a count holds")
                return [entry.createdAt, entry.profile, Format.bytes(entry.bytes), contents, entry.location]
            }
            for (line, entry) in zip(TextTable.lines(rows, rightAligned: [2, 3]), catalog.sealed) {
                HumanOutput.out(line)
                if !entry.rows.isEmpty {
                    HumanOutput.out("    " + entry.rows.sorted { $0.key < $1.key }.map { "\($0.key) \(Format.count($0.value))" }.joined(separator: " · "))
                }
            }
        }
        for changes in catalog.changes {
            var line = "\(changes.profile): \(Format.plural(changes.segments, "change segment"))"
            if changes.tombstones > 0 { line += " (\(changes.tombstones) pruned)" }
            if let sealedAt = changes.sealedAt { line += ", newest sealed \(sealedAt) at \(changes.sealedLSN ?? "?")" }
            if let lastCommit = changes.lastCommit { line += ", last commit \(lastCommit)" }
            if let problem = changes.problem { line += " — \(problem)" }
            HumanOutput.out(["", Terminal.escaped(line) + " (pgseal chain walks them)"])
        }
        if !catalog.unverified.isEmpty {
            HumanOutput.out(["", "unverified (a seal and signature, " + (files.isEmpty ? "not checked: no --trusted-key" : "which do not verify") + "):"])
            HumanOutput.out(TextTable.lines(catalog.unverified.map { [$0.createdAt, $0.profile, Format.bytes($0.bytes), $0.location + ($0.problem.map { "  — " + $0 } ?? "")] },
                                            rightAligned: [2]))
        }
        if !catalog.incomplete.isEmpty {
            HumanOutput.out(["", "incomplete (no signed seal: interrupted or unsigned exports):"])
            HumanOutput.out(TextTable.lines(catalog.incomplete.map { [$0.createdAt, $0.profile, Format.bytes($0.bytes), $0.location] }, rightAligned: [2]))
        }
        if !catalog.tombstones.isEmpty {
            let newest = catalog.tombstones.first?.createdAt ?? ""
            HumanOutput.out(["", "\(Format.plural(catalog.tombstones.count, "tombstone")) (objects removed by prune, seals kept for the series; newest \(newest)): pgseal chain checks them"])
        }
        if !catalog.uploads.isEmpty {
            HumanOutput.out(["", "uploads not completed (running now, or left by a killed export; export and prune abort them once stale):"])
            for upload in catalog.uploads { HumanOutput.out("\(upload.startedAt)  \(upload.key)") }
        }
    }
}
