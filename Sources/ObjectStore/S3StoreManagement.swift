import Cryptography
import Foundation

/// Deleting, retention and server-side copies: what prune and replicate do with a bucket.
extension S3Store {
    /// DeleteObjects, up to 1,000 keys a request, in the order given.
    package func delete(keys: [String]) throws -> [(key: String, reason: String)] {
        var failed: [(String, String)] = []
        for start in stride(from: 0, to: keys.count, by: 1000) {
            let batch = keys[start..<min(start + 1000, keys.count)]
            let document = "<Delete><Quiet>true</Quiet>" + batch.map { "<Object><Key>\(XMLText.escape(client.fullKey($0)))</Key></Object>" }.joined() + "</Delete>"
            let body = Array(document.utf8)
            let response = try body.withUnsafeBytes { bytes in
                try client.request("DeleteObjects", method: "POST", key: "", query: [("delete", "")],
                                   headers: ["Content-MD5": Data(Crypto.md5(bytes)).base64EncodedString()], body: bytes)
            }
            let answer: XMLAnswer
            do { answer = try XMLAnswer.parse(response.body, record: "Error", maxRecords: batch.count) } catch {
                throw AWSError(operation: "DeleteObjects", status: response.status, code: "MalformedAnswer", message: "\(error)")
            }
            for error in answer.records {
                let key = error["Key"].map { $0.hasPrefix(client.location.prefix) ? String($0.dropFirst(client.location.prefix.count)) : $0 } ?? "?"
                failed.append((key, "\(error["Code"] ?? "Error"): \(error["Message"] ?? "")"))
            }
        }
        return failed
    }

    package func retainedUntil(key: String) throws -> Date? {
        let head = try client.request("HeadObject", method: "HEAD", key: client.fullKey(key))
        if head.headers["x-amz-object-lock-legal-hold"] == "ON" { return .distantFuture }
        guard let until = parseTimestamp(head.headers["x-amz-object-lock-retain-until-date"]), until > Date() else { return nil }
        return until
    }

    /// Objects up to this size are copied with one CopyObject; larger ones part by part with
    /// UploadPartCopy (S3's CopyObject stops at 5 GiB).
    package static let singleCopyLimit: Int64 = 5 << 30

    /// Copies `sourceKey` of `source` (another bucket, possibly in another region, on the same
    /// S3) to `key` here, without the bytes passing through this machine. Nothing appears under
    /// `key` unless the copy completed.
    package func copy(from source: S3Store, key sourceKey: String, to key: String, size: Int64,
                     singleCopyLimit: Int64 = S3Store.singleCopyLimit, partSize: Int64 = 512 << 20) throws {
        let copySource = "/" + source.client.location.bucket + "/" + SigV4Signer.encode(source.client.fullKey(sourceKey), keepSlash: true)
        let target = client.fullKey(key)
        if size <= singleCopyLimit {
            let response = try client.request("CopyObject", method: "PUT", key: target,
                                              headers: options.headers().merging(["x-amz-copy-source": copySource]) { $1 })
            _ = try S3Client.answer(response, operation: "CopyObject")
            return
        }
        // The size comes from a signed seal: S3 copies at most 10,000 parts, so a size past that
        // is refused before any request (and no offset below can overflow).
        let (capacity, overflow) = partSize.multipliedReportingOverflow(by: 10_000)
        guard size >= 0, partSize > 0, overflow || size <= capacity else {
            throw AWSError(operation: "UploadPartCopy", status: 0, code: "TooLarge", message: "\(size) bytes cannot be copied in 10,000 parts of \(partSize) bytes")
        }
        let uploadID = try client.createMultipartUpload(key: target, headers: options.headers())
        do {
            var parts: [S3Client.CompletedPart] = []
            for (index, start) in stride(from: Int64(0), to: size, by: Int(partSize)).enumerated() {
                let end = min(start + partSize, size) - 1
                let response = try client.request("UploadPartCopy", method: "PUT", key: target,
                                                  query: [("partNumber", String(index + 1)), ("uploadId", uploadID)],
                                                  headers: ["x-amz-copy-source": copySource, "x-amz-copy-source-range": "bytes=\(start)-\(end)"])
                guard let etag = try S3Client.answer(response, operation: "UploadPartCopy").fields["ETag"] else {
                    throw AWSError(operation: "UploadPartCopy", status: response.status, code: "NoETag", message: "part \(index + 1) has no ETag")
                }
                parts.append(.init(number: index + 1, etag: etag))
            }
            try client.completeMultipartUpload(key: target, uploadID: uploadID, parts: parts)
        } catch {
            try? client.abortMultipartUpload(key: target, uploadID: uploadID)
            throw error
        }
    }

    /// Whether `other` is reached through the same S3 (same endpoint and credentials source),
    /// so that a server-side copy between the two can work.
    package func sharesService(with other: S3Store) -> Bool {
        client.location.endpoint == other.client.location.endpoint
    }
}
