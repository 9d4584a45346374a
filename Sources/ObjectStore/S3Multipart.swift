import Foundation

/// The multipart-upload calls, shared by the streaming writer, the server-side copy and the
/// clean-up of stale uploads.
extension S3Client {
    /// One part of a completion: its number, ETag and, when the upload declared one, checksum.
    package struct CompletedPart: Sendable {
        package let number: Int
        package let etag: String
        package let sha256: String?

        package init(number: Int, etag: String, sha256: String? = nil) {
            self.number = number
            self.etag = etag
            self.sha256 = sha256
        }
    }

    /// CreateMultipartUpload; returns the upload id.
    package func createMultipartUpload(key: String, headers: [String: String]) throws -> String {
        let response = try request("CreateMultipartUpload", method: "POST", key: key, query: [("uploads", "")], headers: headers)
        guard let id = try Self.answer(response, operation: "CreateMultipartUpload").fields["UploadId"], !id.isEmpty else {
            throw AWSError(operation: "CreateMultipartUpload", status: response.status, code: "NoUploadId", message: "the answer had no UploadId")
        }
        return id
    }

    /// CompleteMultipartUpload with the parts in order; returns the object's ETag when S3 gave one.
    @discardableResult
    package func completeMultipartUpload(key: String, uploadID: String, parts: [CompletedPart], headers: [String: String] = [:]) throws -> String? {
        let document = "<CompleteMultipartUpload>" + parts.map { part in
            "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(part.etag)</ETag>"
                + (part.sha256.map { "<ChecksumSHA256>\($0)</ChecksumSHA256>" } ?? "") + "</Part>"
        }.joined() + "</CompleteMultipartUpload>"
        let response = try Array(document.utf8).withUnsafeBytes { body in
            try request("CompleteMultipartUpload", method: "POST", key: key, query: [("uploadId", uploadID)], headers: headers, body: body)
        }
        return try Self.answer(response, operation: "CompleteMultipartUpload").fields["ETag"]
    }

    /// AbortMultipartUpload (retried like every call).
    package func abortMultipartUpload(key: String, uploadID: String) throws {
        try request("AbortMultipartUpload", method: "DELETE", key: key, query: [("uploadId", uploadID)])
    }

    /// The answer, parsed; CopyObject and CompleteMultipartUpload can answer 200 with an error
    /// document, which is an error.
    static func answer(_ response: HTTPResponse, operation: String) throws -> XMLAnswer {
        let answer: XMLAnswer
        do { answer = try XMLAnswer.parse(response.body, record: "Error", maxRecords: 1) } catch {
            throw AWSError(operation: operation, status: response.status, code: "MalformedAnswer", message: "\(error)")
        }
        if let error = answer.records.first {
            throw AWSError(operation: operation, status: response.status, code: error["Code"] ?? "Error", message: error["Message"] ?? "")
        }
        return answer
    }
}
