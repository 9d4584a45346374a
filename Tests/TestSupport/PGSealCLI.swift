import Foundation

/// Runs the pgseal binary under test.
public enum PGSealCLI {
    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil) throws -> CommandResult {
        try Command.run([Repository.pgsealBinary] + arguments, stdin: stdin, environment: environment)
    }

    public static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> RunningCommand {
        try Command.start([Repository.pgsealBinary] + arguments, environment: environment)
    }
}

/// An archive extracted with the standard tools (`zstd -d | tar -x`), as an auditor would.
public struct ExtractedArchive {
    private let storage: TemporaryDirectory
    public var directory: String { storage.path }

    /// Extracts into a temporary directory that lives as long as this value; with `identity`,
    /// the archive is decrypted with the real `age -d` first.
    public init(archive: String, identity: String? = nil) throws {
        storage = try TemporaryDirectory("pgseal-extracted")
        let decrypt = identity == nil ? "cat \"$0\"" : "age -d -i \"$2\" \"$0\""
        // zstd -f passes an uncompressed tar (--compression none) through unchanged.
        let result = try Command.run(["bash", "-c", "set -o pipefail; \(decrypt) | zstd -dcf | tar -x -C \"$1\"", archive, storage.path, identity ?? ""])
        guard result.status == 0 else { throw TestSetupError("age -d | zstd -d | tar -x failed: \(result.err)") }
    }

    /// Extracts an uncompressed, unencrypted tar (`--compression none --no-encrypt`).
    public init(tarball: String) throws {
        storage = try TemporaryDirectory("pgseal-extracted")
        let result = try Command.run(["tar", "-x", "-f", tarball, "-C", storage.path])
        guard result.status == 0 else { throw TestSetupError("tar -x failed: \(result.err)") }
    }

    public var manifestData: Data { FileManager.default.contents(atPath: directory + "/manifest.json") ?? Data() }

    public var manifest: JSONDocument {
        get throws { try JSONDocument(data: manifestData) }
    }

    /// Every line of every chunk of `table` (`schema.table`), in chunk order.
    public func lines(of table: String) throws -> [String] {
        let folder = directory + "/data/" + table
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        return try files.flatMap { file -> [String] in
            let text = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
            return text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        }
    }
}
