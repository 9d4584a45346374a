import ArgumentParser
import Foundation

/// Where a command's result goes, spelled the same on every command: the human report on
/// stdout, or with `--json` the machine report there instead; `--report FILE` also writes the
/// JSON to a file. Logs, progress and warnings go to stderr.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the result as JSON on stdout instead of the human report.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Also write the result as JSON to this file.", valueName: "file"))
    var report: String?

    /// Writes `result` where it was asked for: the report file, and on stdout the JSON or `human`.
    func emit<T: Encodable>(_ result: T, human: @autoclosure () -> [String]) throws {
        if let report { try ReportFile.write(result, to: report) }
        if json { print(try ReportFile.json(result)) } else { HumanOutput.out(human()) }
    }

    /// For commands whose stdout is a location for scripts (`A=$(pgseal export …)`): that
    /// location, or the JSON with `--json`; the human summary goes to stderr.
    func emitLocation<T: Encodable>(_ result: T, location: String, summary: @autoclosure () -> [String], quiet: Bool) throws {
        if let report { try ReportFile.write(result, to: report) }
        if !quiet { HumanOutput.err(summary()) }
        if json { print(try ReportFile.json(result)) } else { print(location) }
    }
}
