import ByteStreams
import Cryptography
import Display
import Foundation

/// An S3 bucket and prefix as a store. New objects go up as multipart uploads fed by the
/// stream (a single PUT when small); nothing appears under the key until the upload is
/// completed, and a failed or interrupted upload is aborted.
package final class S3Store: ObjectStore {
    package let client: S3Client
    package let partSize: Int
    package let options: S3ObjectOptions

    /// Parts before the part size doubles (see `S3MultipartWriter.partSize`).
    package let partsPerTier: Int
    /// Parts uploaded at once, each on its own connection.
    package let concurrency: Int
    /// Where a new upload is registered for abortion until it completes.
    private let cleanup: CleanupRegistry?

    package init(client: S3Client, partSize: Int = 16 << 20, partsPerTier: Int = S3MultipartWriter.defaultPartsPerTier,
                concurrency: Int = 4, options: S3ObjectOptions = S3ObjectOptions(), cleanup: CleanupRegistry? = nil) {
        self.cleanup = cleanup
        self.client = client
        self.partSize = partSize
        self.partsPerTier = partsPerTier
        self.concurrency = concurrency
        self.options = options
    }

    package func location(of key: String) -> String { "s3://\(client.location.bucket)/\(client.fullKey(key))" }

    package func exists(key: String) -> Bool {
        (try? presence(of: key)) ?? false
    }

    package func presence(of key: String) throws -> Bool {
        do {
            _ = try client.request("HeadObject", method: "HEAD", key: client.fullKey(key))
            return true
        } catch let error as AWSError where error.status == 404 {
            return false
        }
    }

    package func put(key: String, contents: [UInt8]) throws {
        try contents.withUnsafeBytes { body in
            _ = try client.putObject(key: client.fullKey(key), body: body, headers: options.headers(), etagIsMD5: options.etagIsMD5)
        }
    }

    package func createObject(key: String) throws -> ObjectWriter {
        if exists(key: key) { throw StoreError.alreadyExists(path: location(of: key)) }
        return try S3MultipartWriter(client: client, key: client.fullKey(key), partSize: partSize, partsPerTier: partsPerTier, options: options, concurrency: concurrency, cleanup: cleanup)
    }

    package func open(key: String) throws -> ByteSource {
        try S3ObjectSource(client: client, key: client.fullKey(key))
    }

    /// ListMultipartUploads under the prefix, following its pages.
    package func pendingUploads(under prefix: String) throws -> [PendingUpload] {
        var found: [PendingUpload] = []
        let pager = ListingPager(operation: "ListMultipartUploads", record: "Upload", client: client, prefix: client.fullKey(prefix))
        try pager.forEachPage(query: [("uploads", "")],
                              markers: [("key-marker", "NextKeyMarker"), ("upload-id-marker", "NextUploadIdMarker")]) { page in
            for upload in page {
                guard let key = upload["Key"], let id = upload["UploadId"], let initiated = upload["Initiated"] else { continue }
                found.append(PendingUpload(key: try pager.relative(key), started: parseTimestamp(initiated) ?? Date(), handle: id))
            }
        }
        return found
    }

    package func cancel(_ upload: PendingUpload) throws {
        try client.abortMultipartUpload(key: client.fullKey(upload.key), uploadID: upload.handle)
    }

    /// The keys under `prefix` (relative to the store's prefix), following ListObjectsV2's pages.
    package func list(prefix: String) throws -> [(key: String, size: Int64)] {
        var found: [(String, Int64)] = []
        let pager = ListingPager(operation: "ListObjectsV2", record: "Contents", client: client, prefix: client.fullKey(prefix))
        try pager.forEachPage(query: [("list-type", "2")],
                              markers: [("continuation-token", "NextContinuationToken")]) { page in
            for content in page {
                guard let key = content["Key"] else { continue }
                guard let size = content["Size"].flatMap({ Int64($0) }), size >= 0 else {
                    throw pager.malformed("the size of \(Terminal.escaped(key)) is \(Terminal.escaped(content["Size"] ?? "missing"))")
                }
                found.append((try pager.relative(key), size))
            }
        }
        return found
    }
}

/// Streams an object up in parts, several in flight at once: the stream fills one part buffer
/// while up to `concurrency` others upload, each on its own connection. A fixed pool of
/// buffers is the back-pressure, so memory stays at about (concurrency + 1) × part size.
package final class S3MultipartWriter: ObjectWriter, @unchecked Sendable {
    private struct Part {
        let number: Int
        let buffer: UnsafeMutableRawBufferPointer
        let length: Int
    }

    private let client: S3Client
    private let key: String
    private let concurrency: Int
    private let partSize: Int
    private let free: BlockingQueue<UnsafeMutableRawBufferPointer>
    private let work: BlockingQueue<Part>
    private var buffers: [UnsafeMutableRawBufferPointer] = []
    private var current: UnsafeMutableRawBufferPointer
    private var filled = 0
    private var nextPartNumber = 1
    private var uploadID: String?
    private var uploaders: [Thread] = []
    private let done = DispatchGroup()
    private let lock = NSLock()
    private var etags: [Int: S3Client.Uploaded] = [:]
    private var failure: Error?
    private var finished = false
    private var interruption: Int?
    private let cleanup: CleanupRegistry?

    /// S3's limit on the number of parts of one object.
    static let maxParts = 10_000

    private let options: S3ObjectOptions

    private let partsPerTier: Int

    init(client: S3Client, key: String, partSize: Int, partsPerTier: Int, options: S3ObjectOptions, concurrency: Int = 4, cleanup: CleanupRegistry? = nil) throws {
        self.cleanup = cleanup
        self.partsPerTier = partsPerTier
        self.client = client
        self.options = options
        self.key = key
        self.partSize = partSize
        self.concurrency = concurrency
        free = BlockingQueue(capacity: concurrency + 1)
        work = BlockingQueue(capacity: concurrency)
        current = .allocate(byteCount: partSize, alignment: 16)
        buffers.append(current)
    }

    deinit {
        if !finished { abort() }
        for buffer in buffers { buffer.deallocate() }
    }

    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, current.count - filled)
            (current.baseAddress! + filled).copyMemory(from: bytes.baseAddress! + offset, byteCount: n)
            filled += n
            offset += n
            if filled == current.count { try submitPart() }
        }
    }

    /// Hands the full buffer to the uploaders and takes a free one (waiting when all are busy).
    private func submitPart() throws {
        if uploadID == nil { try start() }
        if let failure = lock.withLock({ failure }) { throw failure }
        guard work.push(Part(number: nextPartNumber, buffer: current, length: filled)) else { throw lock.withLock { failure } ?? StoreError.io(operation: "upload", path: key, errno: EIO) }
        nextPartNumber += 1
        guard nextPartNumber < Self.maxParts else {
            throw StoreError.invalidLocation("s3://…/\(key)", reason: "the object needs more than \(Self.maxParts) parts (over \(Self.capacity(base: partSize, partsPerTier: partsPerTier) >> 30) GiB with parts from \(partSize >> 20) MiB): raise PGSEAL_S3_PART_SIZE_MIB")
        }
        filled = 0
        let size = Self.partSize(forPart: nextPartNumber, base: partSize, partsPerTier: partsPerTier)
        if buffers.count < concurrency + 1 {
            current = .allocate(byteCount: size, alignment: 16)
            buffers.append(current)
        } else if let buffer = free.pop() {
            current = buffer
            if buffer.count < size {
                // Parts grow with the object (see partSize): the smaller buffer is replaced.
                buffers.removeAll { $0.baseAddress == buffer.baseAddress }
                buffer.deallocate()
                current = .allocate(byteCount: size, alignment: 16)
                buffers.append(current)
            }
        } else {
            throw lock.withLock { failure } ?? StoreError.io(operation: "upload", path: key, errno: EIO)
        }
    }

    /// Parts per size tier: the part size doubles after every 2,000 parts, so that a stream of
    /// unknown length fits S3's 10,000 parts — 62,000 × the base size (968 GiB from 16 MiB) —
    /// while memory stays at the base size for all but very large objects.
    package static let defaultPartsPerTier = 2000

    static func partSize(forPart number: Int, base: Int, partsPerTier: Int = defaultPartsPerTier) -> Int {
        base << min(4, (number - 1) / partsPerTier)
    }

    /// The largest object the schedule can carry in `maxParts - 1` parts.
    static func capacity(base: Int, partsPerTier: Int = defaultPartsPerTier) -> Int {
        (1..<maxParts).map { partSize(forPart: $0, base: base, partsPerTier: partsPerTier) }.saturatingSum()
    }

    private func start() throws {
        var headers = options.headers()
        headers["x-amz-checksum-algorithm"] = "SHA256"
        let id = try client.createMultipartUpload(key: key, headers: headers)
        uploadID = id
        // An interrupted export aborts its upload: nothing is left to pay for or to clean up.
        let abortClient = try client.copy()
        interruption = cleanup?.addAction { [key] in
            try? abortClient.abortMultipartUpload(key: key, uploadID: id)
        }
        for _ in 0..<concurrency {
            let uploader = try client.copy()
            done.enter()
            let thread = Thread { [self] in
                defer { done.leave() }
                while let part = work.pop() {
                    do {
                        let uploaded = try uploader.uploadPart(key: key, uploadID: id, number: part.number,
                                                               body: UnsafeRawBufferPointer(rebasing: part.buffer[0..<part.length]),
                                                               etagIsMD5: options.etagIsMD5)
                        lock.withLock { etags[part.number] = uploaded }
                        free.push(part.buffer)
                    } catch {
                        lock.withLock { if failure == nil { failure = error } }
                        work.close()
                        free.close()
                        return
                    }
                }
            }
            thread.name = "pgseal-s3-upload"
            uploaders.append(thread)
            thread.start()
        }
    }

    package func close() throws {
        guard !finished else { return }
        do {
            if uploadID == nil {
                do {
                    try client.putObject(key: key, body: UnsafeRawBufferPointer(rebasing: current[0..<filled]),
                                         headers: options.headers().merging(Self.noReplace) { $1 }, etagIsMD5: options.etagIsMD5)
                } catch let error as AWSError where error.status == 412 {
                    throw StoreError.alreadyExists(path: "s3://\(client.location.bucket)/\(key)")
                }
            } else {
                if filled > 0 {
                    guard work.push(Part(number: nextPartNumber, buffer: current, length: filled)) else {
                        throw lock.withLock { failure } ?? StoreError.io(operation: "upload", path: key, errno: EIO)
                    }
                    nextPartNumber += 1
                }
                work.close()
                done.wait()
                if let failure = lock.withLock({ failure }) { throw failure }
                let parts = lock.withLock { etags.sorted { $0.key < $1.key } }
                guard parts.count == nextPartNumber - 1 else {
                    throw StoreError.io(operation: "upload (parts missing)", path: key, errno: EIO)
                }
                // A multipart object's ETag is the MD5 of its parts' MD5s and the part count.
                let expected = "\"" + HexDigits.encode(parts.flatMap(\.value.md5).withUnsafeBytes { Crypto.md5($0) }) + "-\(parts.count)\""
                try complete(parts.map { S3Client.CompletedPart(number: $0.key, etag: $0.value.etag, sha256: $0.value.sha256) }, expectedETag: expected)
            }
            finished = true
            if let interruption { cleanup?.removeAction(interruption) }
        } catch {
            abort()
            throw error
        }
    }

    /// Completes the upload. A retried completion whose first attempt did reach S3 can fail
    /// although the object exists: the key did not exist before this upload, so an object
    /// under it now is this one.
    private func complete(_ parts: [S3Client.CompletedPart], expectedETag: String) throws {
        var etag: String?
        do {
            etag = try client.completeMultipartUpload(key: key, uploadID: uploadID!, parts: parts, headers: Self.noReplace)
        } catch let error as AWSError where error.status == 412 {
            // Another writer's object took the name first (two exports in one second that drew
            // the same tag): never replaced, and this upload is aborted.
            throw StoreError.alreadyExists(path: "s3://\(client.location.bucket)/\(key)")
        } catch {
            guard let head = try? client.request("HeadObject", method: "HEAD", key: key) else { throw error }
            etag = head.headers["etag"]
        }
        guard !options.etagIsMD5 || etag == expectedETag else {
            throw AWSError(operation: "CompleteMultipartUpload", status: 200, code: "ETagMismatch",
                          message: "the object's ETag \(etag ?? "(none)") is not the one computed from its parts, \(expectedETag)")
        }
    }

    /// S3's conditional write: the request fails (412) when the key exists, so that an archive
    /// is never replaced, however close in time two writers come.
    static let noReplace = ["If-None-Match": "*"]

    package func abort() {
        guard !finished else { return }
        finished = true
        work.close()
        free.close()
        done.wait()
        if let interruption { cleanup?.removeAction(interruption) }
        guard let uploadID else { return }
        try? client.abortMultipartUpload(key: key, uploadID: uploadID)
    }
}
