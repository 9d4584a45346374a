import Foundation

/// Debian's headless Chromium, as a person's browser: a page opened from a file, shot to PNG
/// and printed to PDF (whose text pdftotext reads back). Missing tools fail the test.
public enum Chromium {
    static func browser() throws -> String {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] where FileManager.default.isExecutableFile(atPath: path) { return path }
        throw TestSetupError("chromium is not installed: run scripts/setup.sh (it installs chromium and poppler-utils)")
    }

    static func run(_ page: String, _ options: [String], output: String) throws {
        let profile = try TemporaryDirectory("pgseal-chromium")
        // No network at all: the page must not need it.
        let result = try Command.runLeavingDaemon([try browser(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                                   "--user-data-dir=\(profile.path)", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                                                   "--hide-scrollbars"] + options + ["file://" + page],
                                                  environment: ["HOME": profile.path])
        guard FileManager.default.fileExists(atPath: output), (try? fileSize(output)) ?? 0 > 0 else {
            throw TestSetupError("chromium wrote no \(output) (exit \(result.status)): \(result.err.suffix(2000))")
        }
    }

    /// A PNG of the page at `width` pixels, `height` tall.
    public static func screenshot(_ page: String, to png: String, width: Int = 1100, height: Int = 3000) throws {
        try run(page, ["--screenshot=\(png)", "--window-size=\(width),\(height)"], output: png)
    }

    /// The page printed to PDF (print styles apply), and the PDF's text.
    public static func printedText(_ page: String, pdf: String) throws -> String {
        try run(page, ["--no-pdf-header-footer", "--print-to-pdf=\(pdf)"], output: pdf)
        let text = try Command.run(["pdftotext", "-layout", pdf, "-"])
        guard text.status == 0 else { throw TestSetupError("pdftotext failed: \(text.err)") }
        return text.out
    }

    /// The number of pages of a PDF, as pdfinfo reads it.
    public static func pages(_ pdf: String) throws -> Int {
        let info = try Command.run(["pdfinfo", pdf])
        let line = info.out.split(separator: "\n").first { $0.hasPrefix("Pages:") }
        guard let count = line.flatMap({ Int($0.dropFirst("Pages:".count).trimmingCharacters(in: .whitespaces)) }) else {
            throw TestSetupError("pdfinfo read no page count: \(info.out) \(info.err)")
        }
        return count
    }
}
