import ArchiveFormat
import ArgumentParser
import ByteStreams
import Foundation
import Logging

@main
struct PGSealCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pgseal",
        abstract: "Seal PostgreSQL tables into verifiable archives, and prove them later (pgseal \(PGSealVersion.current)).",
        discussion: """
            Exit codes: 0 all good; 1 the thing checked is bad (integrity failure, difference \
            found, archive too old); 2 pgseal could not do its job (usage, configuration, \
            unreachable database or store, missing key).
            """,
        version: PGSealVersion.current,
        subcommands: [ExportCommand.self, FollowCommand.self, SealCommand.self, VerifyCommand.self, DiffCommand.self, RestoreCommand.self, RecoverCommand.self, LostCommand.self, ExtractCommand.self, InspectCommand.self, ListCommand.self, ChainCommand.self, ReportCommand.self, CheckCommand.self, PruneCommand.self, ReplicateCommand.self, ConfigCommand.self, KeygenCommand.self, EncryptCommand.self, DecryptCommand.self])

    /// Runs the command line and turns every error into the documented exit code: ArgumentParser
    /// would give 64 for usage errors; pgseal's contract says 2.
    static func main() async {
        SignalHandlers.install()
        defer { SignalHandlers.waitIfInterrupted() }
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }  // --help, --version
            usageError(error, subcommand: namedSubcommand())
        }
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            SignalHandlers.waitIfInterrupted()
            if exitCode(for: error) == .success { exit(withError: error) }  // `pgseal help`, `pgseal config --help`
            if error is ValidationError || isArgumentParserError(error) { usageError(error, subcommand: type(of: command)) }
            let (status, lastWord) = outcome(of: error)
            if let lastWord { report(lastWord) }
            Foundation.exit(status)
        }
    }

    /// The one place where an error becomes an exit status and the last word on stderr
    /// (docs/CLI.md, "Exit codes"): 1 when the thing checked is bad — a command's own verdict,
    /// or an integrity failure from the library — and 2 for everything that kept pgseal from
    /// doing its job, with the flag that would mend it where one would.
    static func outcome(of error: Error) -> (status: Int32, lastWord: String?) {
        switch error {
        case CommandVerdict.bad(let message):
            return (1, message)
        case CommandVerdict.unfinished(let message):
            return (2, message)
        case let violation as IntegrityViolation where violation.isIntegrityFailure:
            return (1, "integrity failure: \(violation)")
        default:
            return (2, "error: \(error)" + (FlagHints.hint(for: error).map { " (\($0))" } ?? ""))
        }
    }

    /// One format for every usage error, wherever it is found (by the parser, or by a command
    /// checking what it was given): `pgseal: error: …`, then the usage of the command at hand
    /// and where its help is. Exit 2.
    private static func usageError(_ error: Error, subcommand: ParsableCommand.Type?) -> Never {
        let command = subcommand.flatMap { $0 == PGSealCommand.self ? nil : $0 }
        var lines = ["error: " + message(for: error)]
        if let command {
            let usage = usageString(for: command)
            // The command's full name, `pgseal config check`: the usage's words before its arguments.
            let name = usage.split(separator: " ").prefix { !["<", "[", "-"].contains($0.first) }.joined(separator: " ")
            lines.append("Usage: " + usage)
            lines.append("  See '\(name) --help' for more information.")
        } else {
            lines.append("Usage: pgseal <command> [options]   (pgseal --help lists the commands)")
        }
        report(lines.joined(separator: "\n"))
        Foundation.exit(2)
    }

    /// The subcommand (or sub-subcommand, `config check`) the arguments name, for a usage error
    /// the parser found before any command ran.
    private static func namedSubcommand() -> ParsableCommand.Type? {
        let arguments = Array(CommandLine.arguments.dropFirst())
        var found: ParsableCommand.Type?
        var candidates = configuration.subcommands
        for argument in arguments {
            guard let next = candidates.first(where: { $0._commandName == argument }) else { break }
            found = next
            candidates = next.configuration.subcommands
        }
        return found
    }

    /// The last word on stderr: a plain `pgseal: …` line, or with `--log-format json` a log
    /// line like the others, for log shippers.
    private static func report(_ text: String) {
        if let logger = GlobalOptions.jsonLogger {
            logger.error("\(text)")
        } else {
            // A server's multi-line message keeps its lines; each is escaped.
            HumanOutput.err("pgseal: \(text)".split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
        }
    }

    private static func isArgumentParserError(_ error: Error) -> Bool {
        String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
    }
}

/// How a command ends when its result says so: the thing checked is bad (exit 1) — an archive
/// that failed verification, a difference found, an archive too old — or the work could not be
/// finished (exit 2). The message, when there is one, is the last word on stderr; a command that
/// printed its result already gives none.
enum CommandVerdict: Error {
    case bad(String?)
    case unfinished(String?)
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Log more (repeat for debug output).")
    var verbose: Int

    @Flag(name: .shortAndLong, help: "Log only warnings and errors.")
    var quiet = false

    @Option(name: .long, help: ArgumentHelp("Log lines as text (default) or json, one object a line, for log shippers.", valueName: "format"))
    var logFormat = "text"

    func validate() throws {
        guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format takes text or json, not \(logFormat)") }
    }

    /// The logger of a command run with `--log-format json`, for the final error line.
    nonisolated(unsafe) static var jsonLogger: Logger?

    func bootstrapLogging() -> Logger {
        let level: Logger.Level = quiet ? .warning : verbose >= 2 ? .debug : verbose == 1 ? .info : .notice
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            if json { return JSONLogHandler(label: label, logLevel: level) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "pgseal")
        if json { Self.jsonLogger = logger }
        return logger
    }
}
