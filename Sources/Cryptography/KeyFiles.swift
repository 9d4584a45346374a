import Foundation

/// The key files pgseal makes and reads: written with the right modes and never over an
/// existing file; read with a warning when a secret is readable by others.
package enum KeyFiles {
    package struct Generated {
        package let identity: String
        package let recipient: String
        package let signingKey: String
        package let signingPublicKey: String
        package let allowedSigners: String
        package let recipientText: String
        package let fingerprint: String
    }

    /// `pgseal keygen`: an age identity and its recipient, an Ed25519 signing key and its public
    /// key, and an `allowed_signers` line for `ssh-keygen -Y verify -I <signer> -n pgseal`.
    /// `namespace` is what the allowed_signers line lets the key sign: `pgseal` (seals) for an
    /// exporter, `pgseal-attestation` for a verifier (`keygen --verifier`).
    package static func generate(into directory: String, signer: String, namespace: String = "pgseal") throws -> Generated {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let paths = Generated(
            identity: directory + "/age-identity.txt", recipient: directory + "/age-recipient.txt",
            signingKey: directory + "/signing-key", signingPublicKey: directory + "/signing-key.pub",
            allowedSigners: directory + "/allowed_signers", recipientText: "", fingerprint: "")
        for path in [paths.identity, paths.recipient, paths.signingKey, paths.signingPublicKey, paths.allowedSigners]
        where FileManager.default.fileExists(atPath: path) {
            throw KeyFileError.exists(path)
        }
        let identity = AgeIdentity.generate()
        let recipient = try identity.recipient()
        let signingKey = try SSHSigningKey.generate(comment: signer)
        let created = ISO8601DateFormatter().string(from: Date())
        try write(paths.identity, "# created: \(created)\n# package key: \(recipient)\n\(identity.encoded)\n", mode: 0o600)
        try write(paths.recipient, "\(recipient)\n", mode: 0o644)
        try write(paths.signingKey, signingKey.openSSH, mode: 0o600)
        try write(paths.signingPublicKey, signingKey.publicKey.line(comment: signer) + "\n", mode: 0o644)
        try write(paths.allowedSigners, "\(signer) namespaces=\"\(namespace)\" \(signingKey.publicKey.line())\n", mode: 0o644)
        return Generated(
            identity: paths.identity, recipient: paths.recipient, signingKey: paths.signingKey,
            signingPublicKey: paths.signingPublicKey, allowedSigners: paths.allowedSigners,
            recipientText: recipient.description, fingerprint: signingKey.publicKey.fingerprint)
    }

    /// Creates `path` with `mode`, failing if it exists.
    package static func write(_ path: String, _ contents: String, mode: mode_t) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw errno == EEXIST ? KeyFileError.exists(path) : KeyFileError.io(path, errno) }
        defer { close(descriptor) }
        fchmod(descriptor, mode)
        let bytes = Array(contents.utf8)
        guard Glibc.write(descriptor, bytes, bytes.count) == bytes.count, fsync(descriptor) == 0 else {
            throw KeyFileError.io(path, errno)
        }
    }

    /// A warning when a secret key file can be read by its group or others, else nil.
    package static func permissionWarning(_ path: String) -> String? {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & 0o077 != 0 else { return nil }
        return "\(path) is readable by other users (mode \(String(status.st_mode & 0o777, radix: 8))); run chmod 600 \(path)"
    }
}

package enum KeyFileError: Error, CustomStringConvertible {
    case exists(String)
    case io(String, Int32)

    package var description: String {
        switch self {
        case .exists(let path): "\(path) already exists; a key is never overwritten — choose another place"
        case .io(let path, let code): "writing \(path): \(String(cString: strerror(code)))"
        }
    }
}
