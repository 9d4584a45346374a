import DatabaseCatalog
import Display
import Foundation
import Operations
import Plot

extension EvidencePage {
    static func profileSection(_ p: ProfileEvidence, now: Date) -> Body {
        .div(
            .h2(.text("Profile \(p.profile)")),
            .p(.text("Expected an archive every \(hours(p.schedule.expectedIntervalSeconds)) (\(p.schedule.expectedIntervalSource)); "
                     + "RPO \(hours(p.schedule.rpoSeconds)) (\(p.schedule.rpoSource))."), .text(" \(Format.plural(p.archiveCount, "archive")) in the series.")),
            timeline(p, now: now),
            rows(p),
            sizes(p),
            archives(p),
            keysOverTime(p),
            chain(p)
        )
    }

    static func hours(_ seconds: Double?) -> String {
        guard let seconds else { return "— (too few archives to tell)" }
        return FreshnessCheck.duration(seconds)
    }

    static func timeline(_ p: ProfileEvidence, now: Date) -> Body {
        .div(
            .h3("Archives against the schedule"),
            Charts.timeline(p, now: now),
            .p(.class("legend muted"), .text("Marks: green sealed, grey removed by prune (tombstone), red missing or unverifiable; a blue ring: restore-verified. Red bands: no archive for longer than the RPO.")),
            p.gaps.isEmpty ? .p(.class("good"), .text("No gap past the RPO.")) : .table(
                .tr(.th("From (the archive before)"), .th("To (the archive after)"), .th("Length")),
                .forEach(p.gaps) { gap in
                    .tr(.td(.text(gap.from)), .td(.class("bad"), .text(gap.to ?? "now (still open)")),
                        .td(.class("num bad"), .text(FreshnessCheck.duration(gap.hours * 3600))))
                })
        )
    }

    static func rows(_ p: ProfileEvidence) -> Body {
        let believed = p.samples.filter { $0.state != "unverifiable" }
        let marked = Set(p.anomalies.map { $0.object + "\u{0}" + $0.table })
        let series = p.tables.map { table in (name: table, value: { (a: ArchiveEvidence) -> Double? in a.rows[table].map(Double.init) }) }
        let listed = Array(p.listed.filter { $0.state != "unverifiable" }.reversed())
        return .div(
            .h3("Rows per table"),
            Charts.lines(title: "rows per table of \(p.profile)", archives: believed, series: series, marked: marked) { Format.count(Charts.whole($0)) },
            legend(p.tables),
            p.anomalies.isEmpty ? .p(.class("good"), .text("No table shrank by more than the alert share; none vanished.")) : .ul(.class("findings"),
                .forEach(p.anomalies) { a in
                    .li(.class("bad"), .text("\(a.table) \(a.kind) from \(Format.count(a.before)) to \(Format.count(a.after)) rows in \(a.object) (\(a.createdAt))"))
                }),
            .table(
                .tr(.th("Created"), .forEach(p.tables) { .th(.text($0)) }),
                .forEach(listed) { archive in
                    .tr(.td(.text(archive.createdAt)), .forEach(p.tables) { table in
                        let change = archive.changes[table].map { $0 == 0 ? "" : " (\($0 > 0 ? "+" : "")\(Format.count($0)))" } ?? ""
                        let flagged = marked.contains(archive.object + "\u{0}" + table)
                        return .td(.class(flagged ? "num bad" : "num"), .text(archive.rows[table].map { Format.count($0) + change } ?? "—"))
                    })
                }),
            p.archiveCount > p.listed.count ? .p(.class("muted"), .text("The newest \(p.listed.count) of \(p.archiveCount) archives are listed; the charts show an even sample of them all, with every one an anomaly or a drill marks; the JSON lists them all.")) : .empty
        )
    }

    static func legend(_ names: [String]) -> Body {
        .p(.class("legend"), .forEach(Array(names.enumerated())) { n, name in
            .span(.class("item"), .span(.class("swatch c\(n % 8)")), .text(name))
        })
    }

    static func sizes(_ p: ProfileEvidence) -> Body {
        let believed = p.samples.filter { $0.state != "unverifiable" }
        return .div(
            .h3("Size and export duration"),
            Charts.lines(title: "archive size of \(p.profile)", archives: believed,
                         series: [(name: "size", value: { $0.bytes.map(Double.init) })]) { Format.bytes(Int64(Charts.whole($0))) },
            Charts.lines(title: "export duration of \(p.profile)", archives: believed,
                         series: [(name: "duration", value: { $0.durationSeconds })]) { String(format: "%.1f s", $0) },
            .p(.class("muted"), .text("Sizes as the seals state them; durations from the export's start to its object's end (absent in seals written before pgseal 0.3.0)."))
        )
    }

    static func archives(_ p: ProfileEvidence) -> Body {
        .div(
            .h3("Each archive and its verification"),
            .table(
                .tr(.th("Created"), .th("State"), .th("Size"), .th("Export"), .th("Rows"), .th("Recorded verifications"), .th("Notes")),
                .forEach(Array(p.listed.reversed())) { a in
                    .tr(
                        .td(.text(a.createdAt)),
                        .td(.class("state-\(a.state)"), .text(stateText(a.state))),
                        .td(.class("num"), .text(a.bytes.map(Format.bytes) ?? "—")),
                        .td(.class("num"), .text(a.durationSeconds.map { String(format: "%.1f s", $0) } ?? "—")),
                        .td(.class("num"), .text(a.rows.isEmpty ? "—" : Format.count(a.rows.values.saturatingSum()))),
                        .td(a.attestations.isEmpty ? .text("none") : .group(a.attestations.map { attestation in
                            .div(.class(attestation.trust != "verified" ? "bad" : attestation.result == "verified" ? "good" : "bad"),
                                 .text(attestationText(attestation)))
                        })),
                        .td(.text(notes(a)))
                    )
                })
        )
    }

    static func stateText(_ state: String) -> String {
        switch state {
        case "sealed": "sealed, seal verified now"
        case "tombstone": "removed by prune (seal kept)"
        case "object-missing": "OBJECT MISSING"
        default: "SEAL DOES NOT VERIFY"
        }
    }

    static func attestationText(_ a: AttestationEvidence) -> String {
        guard a.trust == "verified" else { return "not believed: \(a.problem ?? "")" }
        let by = a.verifierPrincipals.isEmpty ? (a.verifier ?? "?") : "\(a.verifierPrincipals.joined(separator: ", ")) (\(a.verifier ?? "?"))"
        let result = a.result == "verified" ? "\(a.level ?? "?")-verified" : "\(a.level ?? "?") FAILED"
        return "\(result) \(a.at ?? "?") by \(by)" + (a.failures.isEmpty ? "" : ": " + a.failures.prefix(2).joined(separator: "; "))
    }

    static func notes(_ a: ArchiveEvidence) -> String {
        var parts: [String] = []
        if let removed = a.removedAt { parts.append("removed \(removed)" + (a.removedReason.map { " (\($0))" } ?? "")) }
        if let problem = a.problem { parts.append(problem) }
        if let tool = a.tool { parts.append(tool) }
        return parts.joined(separator: " · ")
    }

    static func keysOverTime(_ p: ProfileEvidence) -> Body {
        .div(
            .h3("Signers and recipients over time"),
            .table(
                .tr(.th("Signing key"), .th("From"), .th("To"), .th("Archives")),
                .forEach(p.signers) { period in
                    .tr(.td(.class("mono"), .text(period.value.joined(separator: ", "))), .td(.text(period.first)), .td(.text(period.last)),
                        .td(.class("num"), .text("\(period.archives)")))
                }),
            p.signers.count > 1 ? .p(.class("warn"), .text("The signing key changed \(Format.plural(p.signers.count - 1, "time")) in this series.")) : .empty,
            .table(
                .tr(.th("Encrypted to (age recipients)"), .th("From"), .th("To"), .th("Archives")),
                .forEach(p.recipients) { period in
                    .tr(.td(.class("mono"), .text(period.value.isEmpty ? "not encrypted" : period.value.joined(separator: "\n"))),
                        .td(.text(period.first)), .td(.text(period.last)), .td(.class("num"), .text("\(period.archives)")))
                })
        )
    }

    static func chain(_ p: ProfileEvidence) -> Body {
        let c = p.chain
        return .div(
            .h3("The series (chain of seals)"),
            .p(.class(c.breaks.isEmpty ? "good" : "bad"),
               .text("\(c.status.uppercased()): \(Format.plural(c.archives, "seal")), \(c.chained) linked, \(c.unchained) from before chaining, \(Format.plural(c.tombstones, "tombstone"))"
                     + (c.head.map { "; newest \($0)" } ?? "") + ".")),
            c.segments == 0 ? .empty : .p(.text("\(Format.plural(c.segments, "change segment")) (\(c.segmentTombstones) pruned) in "
                + Format.plural(c.changeChains.count, "replay chain") + ": "
                + c.changeChains.map { "\($0.base) + \(Format.plural($0.segments, "segment")), \($0.fromLSN) – \($0.toLSN)" + ($0.lastCommit.map { ", last commit \($0)" } ?? "") }
                    .joined(separator: "; ") + ".")),
            c.breaks.isEmpty ? .empty : .table(
                .tr(.th("Break"), .th("At"), .th("Created"), .th("What")),
                .forEach(c.breaks) { b in
                    .tr(.td(.class("bad"), .text(b.kind)), .td(.class("mono"), .text(b.object)), .td(.text(b.createdAt)), .td(.text(b.detail)))
                }),
            c.forks.isEmpty ? .empty : .ul(.forEach(c.forks) { fork in
                .li(.class("warn"), .text("Fork: \(fork.successors.joined(separator: " and ")) both follow \(fork.previous) (concurrent exports, or a seal signed outside the series)."))
            })
        )
    }
}
