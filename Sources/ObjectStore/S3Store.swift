import ByteStreams
import Foundation
import Seal

/// An S3 bucket and prefix as a store. New objects go up as multipart uploads fed by the
/// stream (a single PUT when small); nothing appears under the key until the upload is
/// completed, and a failed or interrupted upload is aborted.
public final class S3Store: ObjectStore {
    public let client: S3Client
    public let partSize: Int

    public init(client: S3Client, partSize: Int = 16 << 20) {
        self.client = client
        self.partSize = partSize
    }

    public func location(of key: String) -> String { "s3://\(client.location.bucket)/\(client.fullKey(key))" }

    public func exists(key: String) -> Bool {
        (try? client.request("HeadObject", method: "HEAD", key: client.fullKey(key))) != nil
    }

    public func put(key: String, contents: [UInt8]) throws {
        try contents.withUnsafeBytes { body in
            _ = try client.request("PutObject", method: "PUT", key: client.fullKey(key), body: body)
        }
    }

    public func createObject(key: String) throws -> ObjectWriter {
        if exists(key: key) { throw StoreError.alreadyExists(path: location(of: key)) }
        return try S3MultipartWriter(client: client, key: client.fullKey(key), partSize: partSize)
    }

    public func open(key: String) throws -> ByteSource {
        try S3ObjectSource(client: client, key: client.fullKey(key))
    }

    /// The keys under `prefix` (relative to the store's prefix), following ListObjectsV2's pages.
    public func list(prefix: String = "") throws -> [(key: String, size: Int64)] {
        var found: [(String, Int64)] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", client.fullKey(prefix))]
            if let token { query.append(("continuation-token", token)) }
            let response = try client.request("ListObjectsV2", method: "GET", key: "", query: query)
            let text = String(decoding: response.body, as: UTF8.self)
            for content in XMLText.all("Contents", in: text) {
                guard let key = XMLText.first("Key", in: content) else { continue }
                found.append((String(key.dropFirst(client.location.prefix.count)), Int64(XMLText.first("Size", in: content) ?? "") ?? 0))
            }
            token = XMLText.first("IsTruncated", in: text) == "true" ? XMLText.first("NextContinuationToken", in: text) : nil
        } while token != nil
        return found
    }
}

/// Streams an object up in parts of `partSize` bytes, one part buffer at a time.
final class S3MultipartWriter: ObjectWriter {
    private let client: S3Client
    private let key: String
    private let partSize: Int
    private let buffer: UnsafeMutableRawBufferPointer
    private var filled = 0
    private var uploadID: String?
    private var parts: [(number: Int, etag: String)] = []
    private var finished = false
    private var interruption: Int?

    init(client: S3Client, key: String, partSize: Int) throws {
        self.client = client
        self.key = key
        self.partSize = partSize
        buffer = .allocate(byteCount: partSize, alignment: 16)
    }

    deinit {
        if !finished { abort() }
        buffer.deallocate()
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, partSize - filled)
            (buffer.baseAddress! + filled).copyMemory(from: bytes.baseAddress! + offset, byteCount: n)
            filled += n
            offset += n
            if filled == partSize { try uploadPart() }
        }
    }

    private func uploadPart() throws {
        if uploadID == nil {
            let response = try client.request("CreateMultipartUpload", method: "POST", key: key, query: [("uploads", "")])
            guard let id = XMLText.first("UploadId", in: String(decoding: response.body, as: UTF8.self)) else {
                throw S3Error(operation: "CreateMultipartUpload", status: response.status, code: "NoUploadId", message: "the answer had no UploadId")
            }
            uploadID = id
            // An interrupted export aborts its upload: nothing is left to pay for or to clean up.
            let client = try self.client.copy()
            interruption = InterruptCleanup.shared.addAction { [key] in
                _ = try? client.request("AbortMultipartUpload", method: "DELETE", key: key, query: [("uploadId", id)])
            }
        }
        let number = parts.count + 1
        let response = try client.request("UploadPart", method: "PUT", key: key,
                                          query: [("partNumber", String(number)), ("uploadId", uploadID!)],
                                          body: UnsafeRawBufferPointer(rebasing: buffer[0..<filled]))
        parts.append((number, response.headers["etag"] ?? ""))
        filled = 0
    }

    func close() throws {
        guard !finished else { return }
        do {
            if uploadID == nil {
                _ = try client.request("PutObject", method: "PUT", key: key, body: UnsafeRawBufferPointer(rebasing: buffer[0..<filled]))
            } else {
                if filled > 0 { try uploadPart() }
                let document = "<CompleteMultipartUpload>" + parts.map {
                    "<Part><PartNumber>\($0.number)</PartNumber><ETag>\($0.etag)</ETag></Part>"
                }.joined() + "</CompleteMultipartUpload>"
                let response = try Array(document.utf8).withUnsafeBytes { body in
                    try client.request("CompleteMultipartUpload", method: "POST", key: key, query: [("uploadId", uploadID!)], body: body)
                }
                // S3 can answer 200 with an error document for CompleteMultipartUpload.
                let text = String(decoding: response.body, as: UTF8.self)
                if text.contains("<Error>") {
                    throw S3Error(operation: "CompleteMultipartUpload", status: response.status, code: XMLText.first("Code", in: text) ?? "Error",
                                  message: XMLText.first("Message", in: text) ?? "")
                }
            }
            finished = true
            if let interruption { InterruptCleanup.shared.removeAction(interruption) }
        } catch {
            abort()
            throw error
        }
    }

    func abort() {
        guard !finished else { return }
        finished = true
        if let interruption { InterruptCleanup.shared.removeAction(interruption) }
        guard let uploadID else { return }
        _ = try? client.request("AbortMultipartUpload", method: "DELETE", key: key, query: [("uploadId", uploadID)])
    }
}

/// Reads an object with ranged GETs of a fixed size: bounded memory however large the object.
final class S3ObjectSource: ByteSource {
    private let client: S3Client
    private let key: String
    private let size: Int64
    private var offset: Int64 = 0
    private var chunk: [UInt8] = []
    private var position = 0
    static let rangeSize: Int64 = 8 << 20

    init(client: S3Client, key: String) throws {
        self.client = client
        self.key = key
        let head = try client.request("HeadObject", method: "HEAD", key: key)
        size = Int64(head.headers["content-length"] ?? "") ?? 0
    }

    func read(into target: UnsafeMutableRawBufferPointer) throws -> Int {
        if position == chunk.count {
            guard offset < size else { return 0 }
            let end = min(offset + Self.rangeSize, size) - 1
            chunk = try client.request("GetObject", method: "GET", key: key, headers: ["Range": "bytes=\(offset)-\(end)"]).body
            position = 0
            offset = end + 1
            if chunk.isEmpty { return 0 }
        }
        let n = min(target.count, chunk.count - position)
        chunk.withUnsafeBytes { target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[position..<position + n])) }
        position += n
        return n
    }
}
