import Foundation

/// The multipart-upload calls, shared by the streaming writer, the server-side copy and the
/// clean-up of stale uploads.
extension S3Client {
    /// One part of a completion: its number, ETag and, when the upload declared one, checksum.
    public struct CompletedPart: Sendable {
        public let number: Int
        public let etag: String
        public let sha256: String?

        public init(number: Int, etag: String, sha256: String? = nil) {
            self.number = number
            self.etag = etag
            self.sha256 = sha256
        }
    }

    /// CreateMultipartUpload; returns the upload id.
    public func createMultipartUpload(key: String, headers: [String: String]) throws -> String {
        let response = try request("CreateMultipartUpload", method: "POST", key: key, query: [("uploads", "")], headers: headers)
        guard let id = XMLText.first("UploadId", in: try Self.answerText(response, operation: "CreateMultipartUpload")) else {
            throw AWSError(operation: "CreateMultipartUpload", status: response.status, code: "NoUploadId", message: "the answer had no UploadId")
        }
        return id
    }

    /// CompleteMultipartUpload with the parts in order; returns the object's ETag when S3 gave one.
    @discardableResult
    public func completeMultipartUpload(key: String, uploadID: String, parts: [CompletedPart]) throws -> String? {
        let document = "<CompleteMultipartUpload>" + parts.map { part in
            "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(part.etag)</ETag>"
                + (part.sha256.map { "<ChecksumSHA256>\($0)</ChecksumSHA256>" } ?? "") + "</Part>"
        }.joined() + "</CompleteMultipartUpload>"
        let response = try Array(document.utf8).withUnsafeBytes { body in
            try request("CompleteMultipartUpload", method: "POST", key: key, query: [("uploadId", uploadID)], body: body)
        }
        return XMLText.first("ETag", in: try Self.answerText(response, operation: "CompleteMultipartUpload"))?
            .replacingOccurrences(of: "&quot;", with: "\"")
    }

    /// AbortMultipartUpload (retried like every call).
    public func abortMultipartUpload(key: String, uploadID: String) throws {
        try request("AbortMultipartUpload", method: "DELETE", key: key, query: [("uploadId", uploadID)])
    }

    /// The answer's text; CopyObject and CompleteMultipartUpload can answer 200 with an error
    /// document, which is an error.
    static func answerText(_ response: HTTPResponse, operation: String) throws -> String {
        let text = String(decoding: response.body, as: UTF8.self)
        if text.contains("<Error>") {
            throw AWSError(operation: operation, status: response.status, code: XMLText.first("Code", in: text) ?? "Error",
                           message: XMLText.first("Message", in: text) ?? "")
        }
        return text
    }
}
