import Foundation

/// What S3 should do with every object pgseal writes — archive and sidecars alike, so that the
/// seal is as protected as what it seals: server-side encryption, storage class, Object Lock
/// retention and tags. Read from `PGSEAL_S3_SSE` (`AES256` or `aws:kms`), `PGSEAL_S3_KMS_KEY_ID`,
/// `PGSEAL_S3_STORAGE_CLASS`, `PGSEAL_S3_OBJECT_LOCK_MODE` (`GOVERNANCE` or `COMPLIANCE`),
/// `PGSEAL_S3_RETAIN_DAYS` and `PGSEAL_S3_TAGS` (`key=value,key=value`).
public struct S3ObjectOptions: Sendable, Equatable {
    public var serverSideEncryption: String?
    public var kmsKeyID: String?
    public var storageClass: String?
    public var objectLockMode: String?
    public var retainDays: Int?
    public var tags: [(String, String)] = []

    public init() {}

    public static func == (lhs: S3ObjectOptions, rhs: S3ObjectOptions) -> Bool {
        lhs.headers(now: Date(timeIntervalSince1970: 0)) == rhs.headers(now: Date(timeIntervalSince1970: 0))
    }

    public init(environment: [String: String]) throws {
        serverSideEncryption = environment.firstSet("PGSEAL_S3_SSE")
        if let sse = serverSideEncryption, !["AES256", "aws:kms"].contains(sse) {
            throw StoreError.invalidLocation("PGSEAL_S3_SSE=\(sse)", reason: "server-side encryption is AES256 or aws:kms")
        }
        kmsKeyID = environment.firstSet("PGSEAL_S3_KMS_KEY_ID")
        storageClass = environment.firstSet("PGSEAL_S3_STORAGE_CLASS")
        objectLockMode = environment.firstSet("PGSEAL_S3_OBJECT_LOCK_MODE")
        if let mode = objectLockMode, !["GOVERNANCE", "COMPLIANCE"].contains(mode) {
            throw StoreError.invalidLocation("PGSEAL_S3_OBJECT_LOCK_MODE=\(mode)", reason: "Object Lock mode is GOVERNANCE or COMPLIANCE")
        }
        retainDays = environment.firstSet("PGSEAL_S3_RETAIN_DAYS").flatMap(Int.init)
        if (objectLockMode == nil) != (retainDays == nil) {
            throw StoreError.invalidLocation("PGSEAL_S3_OBJECT_LOCK_MODE / PGSEAL_S3_RETAIN_DAYS", reason: "Object Lock needs both a mode and a number of days")
        }
        tags = (environment.firstSet("PGSEAL_S3_TAGS") ?? "").split(separator: ",").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }
    }

    /// The request headers for PutObject and CreateMultipartUpload.
    public func headers(now: Date = Date()) -> [String: String] {
        var headers: [String: String] = [:]
        if let serverSideEncryption { headers["x-amz-server-side-encryption"] = serverSideEncryption }
        if let kmsKeyID { headers["x-amz-server-side-encryption-aws-kms-key-id"] = kmsKeyID }
        if let storageClass { headers["x-amz-storage-class"] = storageClass }
        if let objectLockMode, let retainDays {
            let formatter = ISO8601DateFormatter()
            headers["x-amz-object-lock-mode"] = objectLockMode
            headers["x-amz-object-lock-retain-until-date"] = formatter.string(from: now.addingTimeInterval(Double(retainDays) * 86400))
        }
        if !tags.isEmpty {
            headers["x-amz-tagging"] = tags.map { SigV4Signer.encode($0.0) + "=" + SigV4Signer.encode($0.1) }.joined(separator: "&")
        }
        return headers
    }

    /// With SSE-KMS, S3's ETag is not the MD5 of the content.
    var etagIsMD5: Bool { serverSideEncryption != "aws:kms" }
}
