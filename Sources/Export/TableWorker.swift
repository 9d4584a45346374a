import ByteStreams
import DatabaseCatalog
import Foundation
import Postgres

/// What a table worker tells the archive writer.
enum WorkerMessage {
    case tableStarted(Int)
    case chunk(CompletedChunk)
    case tableDone(tableIndex: Int, totals: TableTotals)
    case workerFinished
    case failed(Error)
}

/// A thread that reads tables, one after another, through its own connection inside the
/// export's snapshot, and sends their chunks to the writer.
final class TableWorker: @unchecked Sendable {
    private let connection: PostgresConnection
    private let plans: [TablePlan]
    private let nextTable: TableDispenser
    private let chunkSize: Int
    private let pool: BufferPool
    private let messages: BlockingQueue<WorkerMessage>
    private let done = DispatchSemaphore(value: 0)
    let canceller: QueryCanceller?

    init(connection: PostgresConnection, plans: [TablePlan], nextTable: TableDispenser, chunkSize: Int,
         pool: BufferPool, messages: BlockingQueue<WorkerMessage>) {
        self.connection = connection
        self.plans = plans
        self.nextTable = nextTable
        self.chunkSize = chunkSize
        self.pool = pool
        self.messages = messages
        self.canceller = connection.makeCanceller()
    }

    func start() {
        let thread = Thread { [self] in
            defer { done.signal() }
            do {
                while let index = nextTable.next() {
                    try export(tableIndex: index)
                }
                messages.push(.workerFinished)
            } catch {
                messages.push(.failed(error))
            }
        }
        thread.name = "pgseal-table-worker"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Waits for the thread to end, at most `timeout` seconds.
    @discardableResult
    func join(timeout: TimeInterval) -> Bool {
        done.wait(timeout: .now() + timeout) == .success
    }

    /// Ends the worker's transaction (read only: there is nothing to commit but the snapshot).
    func finishTransaction() throws {
        try connection.execute("COMMIT")
    }

    private func export(tableIndex: Int) throws {
        let plan = plans[tableIndex]
        guard messages.push(.tableStarted(tableIndex)) else { throw ExportError.cancelled }
        let chunker = try Chunker(plan: plan, tableIndex: tableIndex, chunkSize: chunkSize, pool: pool) { [messages] chunk in
            guard messages.push(.chunk(chunk)) else { throw ExportError.cancelled }
        }
        do {
            let rows = try connection.copyOut(plan.copyStatement)
            while try rows.next({ line in try chunker.add(copyLine: line) }) {}
        } catch let error as PostgresError {
            throw ExportError.workerFailed(table: plan.qualifiedName, underlying: error)
        }
        let totals = try chunker.finish()
        guard messages.push(.tableDone(tableIndex: tableIndex, totals: totals)) else { throw ExportError.cancelled }
    }
}

/// Hands out table indexes to workers, largest work first being the caller's choice of order.
final class TableDispenser: @unchecked Sendable {
    private let lock = NSLock()
    private var order: [Int]

    init(order: [Int]) { self.order = order.reversed() }

    func next() -> Int? { lock.withLock { order.popLast() } }
}
