import Foundation

/// The outcome of a command run by a test.
public struct CommandResult: Sendable {
    public let status: Int32
    public let stdout: Data
    public let stderr: Data

    public var out: String { String(decoding: stdout, as: UTF8.self) }
    public var err: String { String(decoding: stderr, as: UTF8.self) }

    public init(status: Int32, stdout: Data, stderr: Data) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Runs real programs (pgseal, psql, zstd, tar, python3) for tests. Output goes to temporary
/// files, not pipes, so a chatty program can never block on a full pipe.
public enum Command {
    @discardableResult
    public static func run(_ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
                           directory: String? = nil) throws -> CommandResult {
        let process = try start(arguments, stdin: stdin, environment: environment, directory: directory)
        return process.wait()
    }

    /// Runs a program that leaves a daemon behind (tmux's server): Foundation's Process on
    /// Linux waits for a descriptor the child inherits, which a daemon would hold for its whole
    /// life; the program runs with every descriptor above stderr closed.
    @discardableResult
    public static func runLeavingDaemon(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
        let script = #"for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null; done; exec "$@""#
        return try run(["bash", "-c", script, "bash"] + arguments, environment: environment)
    }

    public static func start(_ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
                             directory: String? = nil) throws -> RunningCommand {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        var env = callerEnvironment
        // No test may reach the EC2 metadata address (169.254.169.254): only loopback servers.
        // The IMDSv2 test points AWS_EC2_METADATA_SERVICE_ENDPOINT at its own local server.
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        env.merge(environment) { _, new in new }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let outPath = NSTemporaryDirectory() + "pgseal-test-out-" + UUID().uuidString
        let errPath = NSTemporaryDirectory() + "pgseal-test-err-" + UUID().uuidString
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        var inPath: String?
        if let stdin {
            let path = NSTemporaryDirectory() + "pgseal-test-in-" + UUID().uuidString
            _ = FileManager.default.createFile(atPath: path, contents: stdin)
            process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            inPath = path
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        return RunningCommand(process: process, outPath: outPath, errPath: errPath, inPath: inPath)
    }
}

/// The environment of the test run without what would make a test depend on who runs it: the
/// caller's pgseal settings, AWS credentials and regions, and libpq's connection defaults.
let callerEnvironment: [String: String] = ProcessInfo.processInfo.environment.filter { name, _ in
    !(name.hasPrefix("PGSEAL_") || name.hasPrefix("AWS_") || name.hasPrefix("PG"))
}

public final class RunningCommand: @unchecked Sendable {
    public let process: Process
    let outPath: String
    let errPath: String
    let inPath: String?

    init(process: Process, outPath: String, errPath: String, inPath: String?) {
        self.process = process
        self.outPath = outPath
        self.errPath = errPath
        self.inPath = inPath
    }

    public func wait() -> CommandResult {
        process.waitUntilExit()
        defer {
            for path in [outPath, errPath] + (inPath.map { [$0] } ?? []) { try? FileManager.default.removeItem(atPath: path) }
        }
        return CommandResult(
            status: process.terminationStatus,
            stdout: FileManager.default.contents(atPath: outPath) ?? Data(),
            stderr: FileManager.default.contents(atPath: errPath) ?? Data())
    }

    /// Sends `signal` to the process.
    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }
}

public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Paths of the repository and of the pgseal binary under test.
public enum Repository {
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `PGSEAL_BIN` (set by `make test`), else the debug build.
    public static var pgsealBinary: String {
        ProcessInfo.processInfo.environment["PGSEAL_BIN"] ?? root + "/.build/debug/pgseal"
    }

    public static func path(_ relative: String) -> String { root + "/" + relative }
}

/// A temporary directory removed when the object goes away.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init(_ label: String = "pgseal-test") throws {
        let template = NSTemporaryDirectory() + label + ".XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else { throw TestSetupError("mkdtemp failed: \(String(cString: strerror(errno)))") }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func file(_ name: String) -> String { path + "/" + name }
}
