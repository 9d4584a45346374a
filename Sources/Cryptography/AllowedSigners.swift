import Foundation

/// Trusted signers as `ssh-keygen -Y verify` reads them (ssh-keygen(1), "ALLOWED SIGNERS"):
/// `principals [options] keytype key`, with the options `namespaces=`, `valid-after=`,
/// `valid-before=` and `cert-authority`; or a plain public key file (`keytype key [comment]`),
/// whose keys are trusted for every principal and namespace. A line pgseal cannot honour
/// exactly (an unknown option, a bad date) trusts nothing, as ssh-keygen skips it.
public struct AllowedSigners: Sendable {
    public struct Entry: Sendable, Equatable {
        public var principals: [String]
        public var key: SSHPublicKey
        public var namespaces: [String]?
        public var validAfter: Date?
        public var validBefore: Date?
        public var certificateAuthority = false
        /// Where the line came from, for messages: `file:line`.
        public var origin: String
    }

    public private(set) var entries: [Entry] = []
    /// Keys that are never trusted, whatever the entries say (`--revoked-keys`).
    public private(set) var revoked: [SSHPublicKey] = []
    /// Lines skipped, each with its reason: shown as warnings.
    public private(set) var skipped: [String] = []

    public init(entries: [Entry] = [], revoked: [SSHPublicKey] = []) {
        self.entries = entries
        self.revoked = revoked
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// One key, trusted for every principal and namespace: a writer reading back its own seals.
    public static func only(_ key: SSHPublicKey, origin: String) -> AllowedSigners {
        AllowedSigners(entries: [Entry(principals: ["*"], key: key, namespaces: nil, validAfter: nil, validBefore: nil, origin: origin)])
    }

    /// Reads an `allowed_signers` file or a public key file.
    public static func load(file path: String) throws -> AllowedSigners {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw SSHKeyError.unreadable(path) }
        var signers = AllowedSigners()
        try signers.add(text: text, origin: path)
        guard !signers.entries.isEmpty else {
            throw SSHKeyError.malformed("\(path) names no usable ssh-ed25519 key" + (signers.skipped.isEmpty ? "" : ": " + signers.skipped.joined(separator: "; ")))
        }
        return signers
    }

    public static func load(files: [String], revokedKeys: [String] = []) throws -> AllowedSigners {
        var signers = AllowedSigners()
        for file in files {
            let loaded = try load(file: file)
            signers.entries += loaded.entries
            signers.skipped += loaded.skipped
        }
        for file in revokedKeys { signers.revoked += try RevokedKeys.load(file: file) }
        return signers
    }

    public mutating func add(text: String, origin: String) throws {
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let place = "\(origin):\(number + 1)"
            do {
                entries.append(try Self.parse(line: line, origin: place))
            } catch let error as AllowedSignersLineError {
                skipped.append("\(place): \(error.reason)")
            }
        }
    }

    static func parse(line: String, origin: String) throws -> Entry {
        var scanner = FieldScanner(line)
        guard let first = scanner.next() else { throw AllowedSignersLineError(reason: "empty line") }
        // A plain public key line: the key trusted for every principal and namespace.
        if first == SSHPublicKey.keyType || first.hasPrefix("ssh-") || first.hasPrefix("ecdsa-") || first.hasPrefix("sk-") {
            guard first == SSHPublicKey.keyType, let blob = scanner.next() else {
                throw AllowedSignersLineError(reason: "key type \(first) is not supported (pgseal signs with ssh-ed25519)")
            }
            return Entry(principals: ["*"], key: try key(first, blob), origin: origin)
        }
        let principals = first.split(separator: ",").map(String.init)
        var options = Options()
        guard var field = scanner.next() else { throw AllowedSignersLineError(reason: "no key") }
        // Options: a comma-separated list that may hold quoted values, before the key type.
        if !field.hasPrefix("ssh-") && !field.hasPrefix("ecdsa-") && !field.hasPrefix("sk-") {
            for option in try splitOptions(field) { try options.apply(option) }
            guard let next = scanner.next() else { throw AllowedSignersLineError(reason: "no key after the options") }
            field = next
        }
        guard field == SSHPublicKey.keyType, let blob = scanner.next() else {
            throw AllowedSignersLineError(reason: "key type \(field) is not supported (pgseal signs with ssh-ed25519)")
        }
        return Entry(principals: principals, key: try key(field, blob), namespaces: options.namespaces,
                     validAfter: options.validAfter, validBefore: options.validBefore,
                     certificateAuthority: options.certificateAuthority, origin: origin)
    }

    private static func key(_ type: String, _ blob: String) throws -> SSHPublicKey {
        do { return try SSHPublicKey(line: type + " " + blob) } catch { throw AllowedSignersLineError(reason: "the key cannot be read: \(error)") }
    }

    struct Options {
        var namespaces: [String]?
        var validAfter: Date?
        var validBefore: Date?
        var certificateAuthority = false

        mutating func apply(_ option: String) throws {
            let (name, value) = option.firstIndex(of: "=").map {
                (option[..<$0].lowercased(), String(option[option.index(after: $0)...]))
            } ?? (option.lowercased(), nil)
            func unquoted() throws -> String {
                guard var value else { throw AllowedSignersLineError(reason: "option \(name) needs a value") }
                if value.hasPrefix("\"") {
                    guard value.count >= 2, value.hasSuffix("\"") else { throw AllowedSignersLineError(reason: "option \(name): unbalanced quotes") }
                    value = String(value.dropFirst().dropLast())
                }
                return value
            }
            switch name {
            case "cert-authority": certificateAuthority = true
            case "namespaces": namespaces = try unquoted().split(separator: ",").map(String.init)
            case "valid-after": validAfter = try SSHTime.parse(try unquoted())
            case "valid-before": validBefore = try SSHTime.parse(try unquoted())
            default: throw AllowedSignersLineError(reason: "unsupported option \(name)")
            }
        }
    }

    /// `namespaces="a,b",valid-after="2020"` → its options, commas inside quotes kept.
    static func splitOptions(_ text: String) throws -> [String] {
        var options: [String] = []
        var current = ""
        var quoted = false
        for character in text {
            if character == "\"" { quoted.toggle() }
            if character == ",", !quoted {
                options.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        guard !quoted else { throw AllowedSignersLineError(reason: "unbalanced quotes in the options") }
        options.append(current)
        return options.filter { !$0.isEmpty }
    }

    /// What the signature's key may sign under these entries: the principals that trust it for
    /// `namespace` at `time`, or why none does.
    package func trust(_ key: SSHPublicKey, namespace: String, principal: String?, at time: Date) -> Result<[String], SSHSignature.VerificationError> {
        if revoked.contains(key) { return .failure(.revoked(fingerprint: key.fingerprint)) }
        var reasons: [String] = []
        var principals: [String] = []
        for entry in entries where entry.key == key {
            if entry.certificateAuthority {
                reasons.append("\(entry.origin) is a cert-authority line, which trusts certificates signed by the key, not signatures made with it (pgseal does not use certificates)")
                continue
            }
            if let namespaces = entry.namespaces, !namespaces.contains(where: { PatternList.matches(namespace, pattern: $0) }) {
                reasons.append("\(entry.origin) allows namespaces \(namespaces.joined(separator: ",")), not \(namespace)")
                continue
            }
            if let after = entry.validAfter, time < after {
                reasons.append("\(entry.origin) is valid only after \(SSHTime.format(after))")
                continue
            }
            if let before = entry.validBefore, time >= before {
                reasons.append("\(entry.origin) was valid only before \(SSHTime.format(before))")
                continue
            }
            if let principal {
                guard PatternList.matches(principal, patterns: entry.principals) else {
                    reasons.append("\(entry.origin) names \(entry.principals.joined(separator: ",")), not \(principal)")
                    continue
                }
                principals.append(principal)
            } else {
                principals += entry.principals
            }
        }
        if !principals.isEmpty { return .success(principals) }
        if reasons.isEmpty { return .failure(.untrustedSigner(fingerprint: key.fingerprint)) }
        return .failure(.notAllowed(fingerprint: key.fingerprint, reasons: reasons))
    }
}

struct AllowedSignersLineError: Error {
    let reason: String
}

/// Splits a line into white-space separated fields, a quoted run (`"a b"`) staying whole.
struct FieldScanner {
    private var rest: Substring

    init(_ line: String) { rest = Substring(line) }

    mutating func next() -> String? {
        rest = rest.drop { $0 == " " || $0 == "\t" }
        guard !rest.isEmpty else { return nil }
        var field = ""
        var quoted = false
        while let character = rest.first {
            if !quoted, character == " " || character == "\t" { break }
            if character == "\"" { quoted.toggle() }
            field.append(character)
            rest = rest.dropFirst()
        }
        return field
    }
}

/// OpenSSH's pattern lists (ssh_config(5), "PATTERNS"): `*` and `?` wildcards, a leading `!`
/// negates, and a negated match wins over any positive one.
public enum PatternList {
    public static func matches(_ name: String, patterns: [String]) -> Bool {
        var matched = false
        for pattern in patterns {
            if pattern.hasPrefix("!") {
                if matches(name, pattern: String(pattern.dropFirst())) { return false }
            } else if matches(name, pattern: pattern) {
                matched = true
            }
        }
        return matched
    }

    /// One pattern, iteratively (no recursion depth to exhaust on hostile input).
    public static func matches(_ name: String, pattern: String) -> Bool {
        let text = Array(name.unicodeScalars), glob = Array(pattern.unicodeScalars)
        var t = 0, g = 0
        var star: Int?, resume = 0
        while t < text.count {
            if g < glob.count, glob[g] == "?" || glob[g] == text[t] {
                t += 1
                g += 1
            } else if g < glob.count, glob[g] == "*" {
                star = g
                resume = t
                g += 1
            } else if let star {
                g = star + 1
                resume += 1
                t = resume
            } else {
                return false
            }
        }
        while g < glob.count, glob[g] == "*" { g += 1 }
        return g == glob.count
    }
}

/// The times of `valid-after`/`valid-before`: `YYYYMMDD[HHMM[SS]]`, local time unless a `Z`
/// suffix says UTC — as ssh-keygen reads them.
public enum SSHTime {
    public static func parse(_ text: String) throws -> Date {
        var digits = Substring(text)
        var utc = false
        if digits.hasSuffix("Z") || digits.hasSuffix("z") { utc = true; digits = digits.dropLast() }
        guard [8, 12, 14].contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw AllowedSignersLineError(reason: "time \(text) is not YYYYMMDD[HHMM[SS]][Z]")
        }
        func field(_ offset: Int, _ length: Int) -> Int {
            let start = digits.index(digits.startIndex, offsetBy: offset)
            return Int(digits[start..<digits.index(start, offsetBy: length)]) ?? 0
        }
        var parts = DateComponents()
        parts.year = field(0, 4)
        parts.month = field(4, 2)
        parts.day = field(6, 2)
        parts.hour = digits.count >= 12 ? field(8, 2) : 0
        parts.minute = digits.count >= 12 ? field(10, 2) : 0
        parts.second = digits.count == 14 ? field(12, 2) : 0
        guard (1...12).contains(parts.month ?? 0), (1...31).contains(parts.day ?? 0), (0...23).contains(parts.hour ?? 0),
              (0...59).contains(parts.minute ?? 0), (0...60).contains(parts.second ?? 0) else {
            throw AllowedSignersLineError(reason: "time \(text) is not a valid date")
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = utc ? TimeZone(identifier: "UTC") ?? .current : .current
        guard let date = calendar.date(from: parts) else { throw AllowedSignersLineError(reason: "time \(text) is not a valid date") }
        return date
    }

    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: date)
    }
}

/// A revocation list for `--revoked-keys`: public keys, one a line, as ssh-keygen's `-r` reads
/// them. OpenSSH's binary KRL is recognised and refused with a message.
public enum RevokedKeys {
    static let krlMagic = Array("SSHKRL\n\0".utf8)

    public static func load(file path: String) throws -> [SSHPublicKey] {
        guard let data = FileManager.default.contents(atPath: path) else { throw SSHKeyError.unreadable(path) }
        if data.starts(with: krlMagic) {
            throw SSHKeyError.malformed("\(path) is an OpenSSH KRL, which pgseal does not read: list the revoked public keys one a line instead")
        }
        var keys: [SSHPublicKey] = []
        for (number, line) in KeyFileLines.lines(String(decoding: data, as: UTF8.self)).enumerated() {
            var scanner = FieldScanner(line)
            guard let type = scanner.next(), let blob = scanner.next(), type == SSHPublicKey.keyType else {
                throw SSHKeyError.malformed("\(path):\(number + 1) is not an ssh-ed25519 public key")
            }
            keys.append(try SSHPublicKey(line: type + " " + blob))
        }
        return keys
    }
}
