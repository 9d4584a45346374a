import Foundation

/// What S3 should do with every object pgseal writes — archive and sidecars alike, so that the
/// seal is as protected as what it seals: server-side encryption, storage class, Object Lock
/// retention and tags. The command line reads them from `s3_sse` (`AES256` or `aws:kms`),
/// `s3_kms_key_id`, `s3_storage_class`, `s3_object_lock_mode` (`GOVERNANCE` or `COMPLIANCE`),
/// `s3_retain_days` and `s3_tags` (`key=value,key=value`), or their `PGSEAL_S3_…` variables.
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

    /// Throws for a value S3 would refuse, naming the setting.
    package func validate() throws {
        if let sse = serverSideEncryption, !["AES256", "aws:kms"].contains(sse) {
            throw StoreError.invalidLocation("s3_sse \(sse)", reason: "server-side encryption is AES256 or aws:kms")
        }
        if let mode = objectLockMode, !["GOVERNANCE", "COMPLIANCE"].contains(mode) {
            throw StoreError.invalidLocation("s3_object_lock_mode \(mode)", reason: "Object Lock mode is GOVERNANCE or COMPLIANCE")
        }
        if (objectLockMode == nil) != (retainDays == nil) {
            throw StoreError.invalidLocation("s3_object_lock_mode / s3_retain_days", reason: "Object Lock needs both a mode and a number of days")
        }
    }

    /// `key=value,key=value`, as `s3_tags` and `PGSEAL_S3_TAGS` give them.
    package static func tags(parsing text: String) -> [(String, String)] {
        text.split(separator: ",").compactMap { pair in
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
