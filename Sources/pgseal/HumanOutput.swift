import ByteStreams
import Foundation

/// pgseal's output for people. Names in it come from archives, seals, stores and servers, so it
/// is written as lines, each with every control character escaped (`Terminal`): no escape
/// sequence from outside reaches the terminal, and a newline inside a name shows as `\u{a}`
/// instead of forging a line of pgseal's own ("verified at level deep: …").
enum HumanOutput {
    static func out(_ lines: [String]) { write(lines, to: .standardOutput) }
    static func err(_ lines: [String]) { write(lines, to: .standardError) }
    static func out(_ line: String) { out([line]) }
    static func err(_ line: String) { err([line]) }

    private static func write(_ lines: [String], to handle: FileHandle) {
        handle.write(Data(lines.map { Terminal.escaped($0) + "\n" }.joined().utf8))
    }
}
