import ArchiveFormat
import Display
import Foundation
import Operations
import Plot

/// `pgseal report --html`: one self-contained page (inline CSS and SVG, no script, nothing
/// fetched) that an auditor can read, print to PDF and file. Every value from the store is
/// written as text, escaped.
package enum EvidencePage {
    typealias Body = Node<HTML.BodyContext>

    package static func render(_ report: EvidenceReport) -> String {
        let now = StampFormat.date(report.generatedAt) ?? Date()
        let html = HTML(
            .lang(.english),
            .head(
                .meta(.charset(.utf8)),
                .meta(.name("viewport"), .content("width=device-width, initial-scale=1")),
                .element(named: "title", nodes: [.text("pgseal evidence report — \(report.store)")]),
                .style(PageStyle.css)
            ),
            .body(
                .h1("pgseal evidence report"),
                .p(.class("muted"), .text("Store \(report.store) · generated \(report.generatedAt) by \(report.tool)"
                    + (report.profileFilter.map { " · profile \($0)" } ?? "") + (report.since.map { " · archives since \($0)" } ?? ""))),
                verdict(report),
                summary(report),
                checked(report),
                .group(report.profiles.map { profileSection($0, now: now) }),
                .footer(.p(.text("Written by \(report.tool) at \(report.generatedAt) in \(String(format: "%.2f", report.seconds)) s, from the seals, tombstones and attestations in \(report.store). "
                    + "This page is self-contained: it fetches nothing and runs no script. The same facts, for programs: pgseal report --json.")))
            )
        )
        return html.render()
    }

    static func verdict(_ report: EvidenceReport) -> Body {
        let findings = report.findings
        if findings.isEmpty {
            return .div(.class("verdict ok"), .text("No finding: every series intact, no gap past its RPO, no anomaly, no failed or unbelieved verification."))
        }
        return .div(
            .div(.class("verdict bad"), .text("\(Format.plural(findings.count, "finding")) to look at")),
            .ul(.class("findings"), .forEach(findings) { .li(.text($0)) })
        )
    }

    static func summary(_ report: EvidenceReport) -> Body {
        .table(
            .tr(.th("Profile"), .th("Archives"), .th("Newest"), .th("Series"), .th("Gaps"), .th("Anomalies"),
                .th("Last restore-verified"), .th("Last deep-verified")),
            .forEach(report.profiles) { p in
                .tr(
                    .td(.text(p.profile)),
                    .td(.text(p.states.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))),
                    .td(.text(p.newest ?? "—")),
                    .td(.class(p.chain.breaks.isEmpty ? "good" : "bad"), .text(p.chain.status)),
                    .td(.class(p.gaps.isEmpty ? "" : "bad"), .text("\(p.gaps.count)")),
                    .td(.class(p.anomalies.isEmpty ? "" : "warn"), .text("\(p.anomalies.count)")),
                    .td(.text(p.lastVerified["restore"].map(verifiedBy) ?? "never recorded")),
                    .td(.text(p.lastVerified["deep"].map(verifiedBy) ?? "never recorded"))
                )
            }
        )
    }

    /// `2026-12-02T22:09:02Z by drill@audit`: the fingerprint is in the archive's row and the JSON.
    static func verifiedBy(_ last: ProfileEvidence.LastVerification) -> String {
        "\(last.at) by \(last.verifierPrincipals.isEmpty ? last.verifier : last.verifierPrincipals.joined(separator: ", "))"
    }

    static func checked(_ report: EvidenceReport) -> Body {
        .div(
            .h2(.class("first"), .text("What was checked")),
            .ul(
                .li(.text("Every seal's signature (SSHSIG, namespace pgseal) against the \(Format.plural(report.trustedKeys.count, "trusted key")) below; a seal that does not verify is counted as nothing but a finding.")),
                .li(.text("Each seal's link to the seal before it in its profile's series (its name and SHA-256), so that an archive removed, replaced or slipped in shows as a break.")),
                .li(.text("Each tombstone note left by pgseal prune against the seal it names. The note itself is unsigned: it is the pruner's account of when and why.")),
                .li(.text("Each recorded verification (attestation): its signature (namespace pgseal-attestation) against the \(Format.plural(report.trustedVerifiers.count, "trusted verifier")) below, and its binding to the archive's seal.")),
                .li(.text("No archive object was read or decrypted: sizes, row counts and digests are those the signed seals state; the objects' integrity is what the recorded verifications (and pgseal verify) establish.")),
                .li(.text("A table losing more than \(Int((report.shrinkAlert * 100).rounded())) % of its rows from one archive to the next is flagged."))
            ),
            .h3("Trusted keys (seals)"), keys(report.trustedKeys),
            .h3("Trusted verifiers (attestations)"), keys(report.trustedVerifiers)
        )
    }

    static func keys(_ keys: [EvidenceReport.Key]) -> Body {
        .table(
            .tr(.th("Fingerprint"), .th("Principals"), .th("Valid after"), .th("Valid before")),
            .forEach(keys) { key in
                .tr(.td(.class("mono"), .text(key.fingerprint)), .td(.text(key.principals.joined(separator: ", "))),
                    .td(.text(key.validAfter ?? "—")), .td(.text(key.validBefore ?? "—")))
            }
        )
    }
}
