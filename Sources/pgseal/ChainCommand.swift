import ArchiveFormat
import ArgumentParser
import Display
import Foundation
import Operations
import PGSealKit

/// `pgseal chain`: walks each profile's series of seals and names every break.
struct ChainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chain",
        abstract: "Check that no archive was removed, replaced or slipped into a profile's series.",
        discussion: """
            Every seal names the seal before it in its profile's series, by name and SHA-256 \
            (docs/FORMAT.md, "The series"). chain reads the seals only — never an object, no \
            decryption key — checks each signature, follows each link and reports each break \
            at its place: missing (an archive removed with its seal), altered (a seal replaced), \
            unverifiable (a seal that does not verify), restart or unlinked (a seal outside the \
            series), object-missing (an object gone without prune's tombstone). Archives removed \
            by prune keep their seal as a tombstone and break nothing; two seals following one \
            (concurrent exports) are shown as a fork, not a break.
            A profile's change segments (pgseal follow) are walked after its archives, in their \
            order: each must link to the segment before it (segment-link), name a base of the \
            series by its seal (segment-base), verify (segment-unverifiable) and start where the \
            one before it in its replay chain ended (lsn-gap). A new replay chain, begun from a \
            new base after the follower's slot was lost, is shown, not counted as a break.
            Exit codes: 0 every series intact; 1 a break; 2 could not check.

            Example:
              pgseal chain s3://kessan-backups/pgseal/ --profile kessan-user-data --trusted-key allowed_signers
            """)

    @Argument(help: ArgumentHelp("A store: a directory or s3://bucket/prefix/.", valueName: "store"))
    var store: String

    @Option(name: .long, help: ArgumentHelp("Only this profile's series.", valueName: "name"))
    var profile: String?

    @Option(name: .long, help: ArgumentHelp("Only archives created on or after this date (2026-11-01 or an RFC 3339 time); links to older ones are not followed.", valueName: "date"))
    var since: String?

    @OptionGroup(title: "Trust")
    var trust: TrustOptions

    @OptionGroup(title: "Output") var output: OutputOptions

    @OptionGroup(title: "S3")
    var s3: S3Options

    @OptionGroup var global: GlobalOptions

    struct Result: Encodable {
        let store: String
        let profiles: [ChainState]
        let seconds: Double
        var ok: Bool { profiles.allSatisfy { $0.breaks.isEmpty } }

        enum CodingKeys: String, CodingKey { case store, profiles, seconds, ok }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(store, forKey: .store)
            try container.encode(ok, forKey: .ok)
            try container.encode(profiles, forKey: .profiles)
            try container.encode(seconds, forKey: .seconds)
        }
    }

    func run() throws {
        let context = try CommandContext(global, s3: s3)
        let started = Date()
        let policy = try trust.policy(environment: context.environment)
        let from = try since.map { try DateArgument.parse($0, option: "--since") }
        let states = try PGSeal.chain(in: store, profile: profile, policy: policy, since: from, storeSettings: context.storeSettings)
        let result = Result(store: store, profiles: states, seconds: Date().timeIntervalSince(started))
        try output.emit(result, human: Self.lines(result))
        if !result.ok { throw CommandVerdict.bad(nil) }
    }

    static func lines(_ result: Result) -> [String] {
        guard !result.profiles.isEmpty else { return ["no sealed archive in \(result.store)"] }
        var lines: [String] = []
        for state in result.profiles {
            var counts = [Format.plural(state.archives, "seal"), "\(state.chained) linked"]
            if state.unchained > 0 { counts.append("\(state.unchained) from before chaining") }
            if state.tombstones > 0 { counts.append(Format.plural(state.tombstones, "tombstone")) }
            lines.append(Terminal.escaped("\(state.profile): \(state.status.uppercased()) — " + counts.joined(separator: ", ") + (state.head.map { "; newest \($0)" } ?? "")))
            for item in state.breaks { lines.append("  BREAK " + Terminal.escaped(item.description)) }
            if state.unlistedBreaks > 0 { lines.append("  … and \(Format.plural(state.unlistedBreaks, "more break")) (--json lists the first 1,000)") }
            if state.segments > 0 {
                var segments = [Format.plural(state.segments, "change segment")]
                if state.segmentTombstones > 0 { segments.append("\(state.segmentTombstones) pruned") }
                lines.append("  " + segments.joined(separator: ", ") + " in " + Format.plural(state.changeChains.count, "replay chain") + ":")
                for chain in state.changeChains {
                    lines.append(Terminal.escaped("    \(chain.base) + \(Format.plural(chain.segments, "segment")): \(chain.fromLSN) – \(chain.toLSN)"
                                                  + (chain.lastCommit.map { ", last commit \($0)" } ?? "")))
                }
            }
            for fork in state.forks { lines.append(Terminal.escaped("  fork: \(fork.successors.joined(separator: " and ")) both follow \(fork.previous) (concurrent exports, or a seal signed outside the series)")) }
        }
        return lines
    }
}

/// `--since`: a day (`2026-11-01`, midnight UTC) or an RFC 3339 time.
enum DateArgument {
    static func parse(_ text: String, option: String) throws -> Date {
        if let date = StampFormat.date(text) ?? StampFormat.date(text + "T00:00:00Z") { return date }
        throw ValidationError("\(option) takes a date such as 2026-11-01 or 2026-11-01T02:00:00Z, not \(text)")
    }
}
