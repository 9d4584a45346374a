import ArchiveFormat
import ByteStreams
import Cryptography
import Foundation

/// A tar stream as the deep level reads it: `TarReader` itself, or `TarReadAhead`.
package protocol TarEntryStream: TarEntries {
    /// The SHA-256 of the entry last read to its end, when the stream computes it (then the
    /// reader need not).
    var lastEntrySHA256: Digest? { get }
}

extension TarReader: TarEntryStream {
    package var lastEntrySHA256: Digest? { nil }
}

/// Reads a tar stream on a thread of its own — decryption, the object's hash against the seal,
/// decompression, the tar headers and each entry's SHA-256 — while the caller checks the
/// entries' rows on another core. A fixed set of buffers circulates between the two threads,
/// so memory stays what it was; an error of the reading thread reaches the caller where it
/// reads, as it would without the thread.
package final class TarReadAhead: TarEntryStream, @unchecked Sendable {
    private enum Item {
        case entry(TarEntry)
        case block(slot: Int, count: Int)
        case entryEnd(Digest)
        case end
        case failure(Error)
    }

    private let items: BlockingQueue<Item>
    private let free: BlockingQueue<Int>
    private let buffers: [UnsafeMutableRawBufferPointer]
    private let done = DispatchSemaphore(value: 0)
    /// Items of the current entry are still queued (the caller stopped reading it early).
    private var insideEntry = false
    private var finished = false
    private var failure: Error?
    private var joined = false
    package private(set) var lastEntrySHA256: Digest?

    /// Starts reading `tar`; `after` runs on the reading thread once the tar has ended (the
    /// verifier drains the rest of the plaintext there), its error kept for `finish`.
    /// `observer` sees every entry's blocks on the reading thread; `hashesEntries: false` spares
    /// the entries' SHA-256 for a reader that does not check them (the diff).
    package init(_ tar: TarReader, blockSize: Int = 256 * 1024, depth: Int = 8, observer: EntryObserver? = nil, hashesEntries: Bool = true,
         after: @escaping () throws -> Void) {
        buffers = (0..<depth).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16) }
        items = BlockingQueue(capacity: depth + 4)
        free = BlockingQueue(capacity: depth)
        for slot in 0..<depth { free.push(slot) }
        let reader = UncheckedBox(tar)
        let tail = UncheckedBox(after)
        let watcher = UncheckedBox(observer)
        let thread = Thread { [self] in
            produce(reader.value, observer: watcher.value, hashesEntries: hashesEntries, after: tail.value)
            done.signal()
        }
        thread.start()
    }

    deinit {
        stop()
        buffers.forEach { $0.deallocate() }
    }

    private func produce(_ tar: TarReader, observer: EntryObserver?, hashesEntries: Bool, after: () throws -> Void) {
        do {
            while let entry = try tar.nextEntry() {
                guard items.push(.entry(entry)) else { return }
                observer?.begin(entry)
                let hasher = SHA256Hasher()
                while true {
                    guard let slot = free.pop() else { return }
                    let count = try tar.readData(into: buffers[slot])
                    if count == 0 {
                        free.push(slot)
                        break
                    }
                    let block = UnsafeRawBufferPointer(rebasing: buffers[slot][0..<count])
                    if hashesEntries { hasher.update(block) }
                    observer?.update(block)
                    guard items.push(.block(slot: slot, count: count)) else { return }
                }
                observer?.end()
                guard items.push(.entryEnd(hasher.finalize())) else { return }
            }
            try after()
            items.push(.end)
        } catch {
            items.push(.failure(error))
        }
    }

    private func next() throws -> Item {
        if let failure { throw failure }
        guard let item = items.pop() else { throw ArchiveError(operation: "read", message: "the reading thread stopped") }
        if case .failure(let error) = item {
            failure = error
            throw error
        }
        return item
    }

    package func nextEntry() throws -> TarEntry? {
        while !finished {
            switch try next() {
            case .entry(let entry):
                insideEntry = true
                return entry
            case .block(let slot, _): free.push(slot)
            case .entryEnd(let digest):
                insideEntry = false
                lastEntrySHA256 = digest
            case .end: finished = true
            case .failure: break
            }
        }
        return nil
    }

    package func forEachBlock(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        while insideEntry {
            switch try next() {
            case .block(let slot, let count):
                defer { free.push(slot) }
                try body(UnsafeRawBufferPointer(rebasing: buffers[slot][0..<count]))
            case .entryEnd(let digest):
                insideEntry = false
                lastEntrySHA256 = digest
            case .entry, .end, .failure:
                throw ArchiveError(operation: "read", message: "the reading thread lost its place")
            }
        }
    }

    /// Reads to the end of the stream and waits for the reading thread: the error of `after`,
    /// or of the stream's end, is thrown here.
    package func finish() throws {
        while try nextEntry() != nil {}
        join()
    }

    /// Stops the reading thread wherever it is and waits for it: after this the sources under
    /// the tar belong to the caller again.
    package func stop() {
        items.close()
        free.close()
        join()
    }

    private func join() {
        guard !joined else { return }
        joined = true
        done.wait()
    }
}

/// Hands a value to a thread that alone uses it (or only reads it) until it is joined.
package struct UncheckedBox<Value>: @unchecked Sendable {
    package let value: Value
    package init(_ value: Value) { self.value = value }
}
