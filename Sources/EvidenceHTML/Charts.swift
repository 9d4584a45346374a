import ArchiveFormat
import Foundation
import Operations
import Plot

/// The report's three kinds of chart, drawn as inline SVG: nothing is fetched, nothing runs.
enum Charts {
    typealias Body = Node<HTML.BodyContext>

    /// Archives (the sample) on a time axis from the first to now: a mark per archive coloured by its state,
    /// gaps past the RPO as red bands.
    static func timeline(_ profile: ProfileEvidence, now: Date) -> Body {
        let width = 900.0, height = 90.0, left = 10.0, right = 890.0
        let times = profile.samples.compactMap { StampFormat.date($0.createdAt) }
        guard let start = times.min() else { return SVG.drawing(width: width, height: 30, label: "no archive", []) }
        let span = max(now.timeIntervalSince(start), 1)
        func x(_ date: Date) -> Double { left + (right - left) * date.timeIntervalSince(start) / span }
        var nodes: [Body] = [SVG.line(x1: left, y1: 50, x2: right, y2: 50, className: "axisline")]
        for gap in profile.gaps {
            guard let from = StampFormat.date(gap.from) else { continue }
            let to = gap.to.flatMap(StampFormat.date) ?? now
            nodes.append(SVG.rect(x: x(from), y: 30, width: x(to) - x(from), height: 40, className: "gap",
                                  tooltip: "no archive for \(FreshnessCheck.duration(gap.hours * 3600)) after \(gap.from)"))
        }
        // The builder's sample: every archive while they fit; past that, an even sample and every
        // archive that is not plainly sealed or that a drill or an anomaly marks.
        for archive in profile.samples {
            guard let date = StampFormat.date(archive.createdAt) else { continue }
            let attested = archive.attestations.contains { $0.trust == "verified" && $0.result == "verified" && $0.level == "restore" }
            nodes.append(SVG.circle(x: x(date), y: 50, radius: attested ? 6 : 4, className: "mark " + archive.state + (attested ? " drilled" : ""),
                                    tooltip: "\(archive.createdAt) \(archive.state)\(attested ? ", restore-verified" : "")"))
        }
        nodes.append(SVG.text(StampFormat.rfc3339(start), x: left, y: 85))
        nodes.append(SVG.text("now " + StampFormat.rfc3339(now), x: right, y: 85, anchor: "end"))
        return SVG.drawing(width: width, height: height, label: "archive timeline of \(profile.profile)", nodes)
    }

    /// A chart's value back as a whole number, clamped: values come from signed seals, and a
    /// conversion of one past Int's range would trap.
    static func whole(_ value: Double) -> Int {
        guard value.isFinite else { return 0 }
        return value >= Double(Int.max) ? Int.max : value <= Double(Int.min) ? Int.min : Int(value)
    }

    /// The most marks or points drawn per series; more archives are sampled evenly.
    static let sampleLimit = 800
    /// Dots for every archive only up to this many.
    static let dotLimit = 150

    /// Whether the `index`-th of `count` archives is left out of an even sample of `sampleLimit`
    /// (the first and the last always stay).
    static func shouldThin(index: Int, count: Int) -> Bool {
        guard count > sampleLimit, index != 0, index != count - 1 else { return false }
        return (index * sampleLimit) / count == ((index - 1) * sampleLimit) / count
    }

    /// One line per series over the archives (in time order), the y axis from 0 to the largest
    /// value; `marked` points drawn in red.
    static func lines(title: String, archives: [ArchiveEvidence], series: [(name: String, value: (ArchiveEvidence) -> Double?)],
                      marked: Set<String> = [], unit: (Double) -> String) -> Body {
        let width = 900.0, height = 240.0, left = 70.0, right = 880.0, top = 15.0, bottom = 210.0
        let count = archives.count
        let values = series.flatMap { s in archives.compactMap { s.value($0) } }
        let maximum = max(values.max() ?? 1, 1)
        func x(_ index: Int) -> Double { count <= 1 ? (left + right) / 2 : left + (right - left) * Double(index) / Double(count - 1) }
        func y(_ value: Double) -> Double { bottom - (bottom - top) * value / maximum }
        var nodes: [Body] = [
            SVG.line(x1: left, y1: bottom, x2: right, y2: bottom, className: "axisline"),
            SVG.line(x1: left, y1: top, x2: left, y2: bottom, className: "axisline"),
            SVG.text(unit(maximum), x: left - 6, y: top + 4, anchor: "end"),
            SVG.text(unit(0), x: left - 6, y: bottom + 4, anchor: "end"),
        ]
        if let first = archives.first { nodes.append(SVG.text(String(first.createdAt.prefix(10)), x: left, y: bottom + 22)) }
        if count > 1, let last = archives.last { nodes.append(SVG.text(String(last.createdAt.prefix(10)), x: right, y: bottom + 22, anchor: "end")) }
        for (n, s) in series.enumerated() {
            // The line keeps one point per pixel column at most (and every flagged one); dots
            // mark each archive only while they stay apart.
            let points = archives.enumerated().compactMap { index, archive -> (Double, Double)? in
                guard !shouldThin(index: index, count: count) || marked.contains(archive.object + "\u{0}" + s.name) else { return nil }
                return s.value(archive).map { (x(index), y($0)) }
            }
            nodes.append(SVG.polyline(points, className: "series c\(n % 8)"))
            for (index, archive) in archives.enumerated() {
                guard let value = s.value(archive) else { continue }
                let flagged = marked.contains(archive.object + "\u{0}" + s.name)
                guard flagged || count <= dotLimit else { continue }
                nodes.append(SVG.circle(x: x(index), y: y(value), radius: flagged ? 5 : 2.5, className: flagged ? "point flagged" : "point c\(n % 8)",
                                        tooltip: "\(s.name) \(archive.createdAt): \(unit(value))"))
            }
        }
        return SVG.drawing(width: width, height: height, label: title, nodes)
    }
}
