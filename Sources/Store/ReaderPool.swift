import Dispatch
import Synchronization

/// A fixed number of read-only connections for one `ReadLane`, each with its own serial dispatch queue.
///
/// A read takes a free slot, or waits for one without blocking a thread (its continuation is queued, first come first
/// served); the body runs on the slot's queue, so at most `capacity` threads run this lane's reads however many
/// callers there are, and never a thread of Swift's cooperative pool. A slot opens its connection on first use and
/// keeps it. A waiting read is not abandoned when its task is cancelled: reads are short, and it keeps its place.
final class ReaderPool: Sendable {
    let lane: ReadLane
    let capacity: Int
    private let state: Mutex<State>
    private let opened = Atomic<Int>(0)

    private struct State {
        var idle: [ReaderSlot]
        var waiters: [CheckedContinuation<ReaderSlot, Never>] = []
        var busy = 0
    }

    init(lane: ReadLane, path: String, capacity: Int) {
        self.lane = lane
        self.capacity = max(1, capacity)
        let slots = (0..<self.capacity).map { ReaderSlot(path: path, label: "settle.store.reader.\(lane.rawValue).\($0)") }
        state = Mutex(State(idle: slots.reversed()))
    }

    /// Runs `body` on one of the lane's connections inside one read transaction (one snapshot).
    func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        let slot = await checkOut()
        let result: Result<T, any Error> = await withCheckedContinuation { continuation in
            slot.queue.async { [self] in
                let result = Result { try slot.run(body, opened: opened) }
                checkIn(slot)  // hand the slot on before resuming this caller
                continuation.resume(returning: result)
            }
        }
        return try result.get()
    }

    /// Runs `body` with a `SQLSession` on one of the lane's connections, inside one read transaction, holding the
    /// connection across `body`'s suspension points.
    func session<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) async throws -> T) async throws -> T {
        let slot = await checkOut()
        defer { checkIn(slot) }
        let session = try await slot.queue.run { [self] in SQLiteSession(try slot.open(opened: opened), queue: slot.queue) }
        return try await session.transaction(begin: "BEGIN DEFERRED", body)
    }

    var status: ReaderLaneStatus {
        let (busy, waiting) = state.withLock { ($0.busy, $0.waiters.count) }
        return ReaderLaneStatus(capacity: capacity, busy: busy, waiting: waiting, opened: opened.load(ordering: .relaxed))
    }

    private func checkOut() async -> ReaderSlot {
        await withCheckedContinuation { continuation in
            let slot: ReaderSlot? = state.withLock { state in
                guard let slot = state.idle.popLast() else {
                    state.waiters.append(continuation)
                    return nil
                }
                state.busy += 1
                return slot
            }
            if let slot { continuation.resume(returning: slot) }
        }
    }

    private func checkIn(_ slot: ReaderSlot) {
        let next: CheckedContinuation<ReaderSlot, Never>? = state.withLock { state in
            guard !state.waiters.isEmpty else {
                state.busy -= 1
                state.idle.append(slot)
                return nil
            }
            return state.waiters.removeFirst()  // the slot stays busy: it passes straight to the longest waiter
        }
        next?.resume(returning: slot)
    }
}

/// One reader connection and the serial queue that owns it.
///
/// `@unchecked Sendable` is safe: `connection` is touched only on `queue`, and the pool gives a slot to one caller at a
/// time.
final class ReaderSlot: @unchecked Sendable {
    let queue: DispatchQueue
    private let path: String
    private var connection: SQLiteConnection?

    init(path: String, label: String) {
        self.path = path
        queue = DispatchQueue(label: label)
    }

    /// On `queue`: the slot's connection, opened on first use.
    func open(opened: borrowing Atomic<Int>) throws -> SQLiteConnection {
        if let open = self.connection { return open }
        let connection = try SQLiteConnection(path: path, readOnly: true)
        self.connection = connection
        opened.add(1, ordering: .relaxed)
        return connection
    }

    /// On `queue`: opens the connection if needed, then runs `body` in one `BEGIN DEFERRED … COMMIT`.
    func run<T>(_ body: (SQLiteConnection) throws -> T, opened: borrowing Atomic<Int>) throws -> T {
        let connection = try open(opened: opened)
        // Prepared once per connection, not parsed again for every read.
        _ = try connection.statement("BEGIN DEFERRED").step()
        defer {
            connection.resetStatements()
            _ = try? connection.statement("COMMIT").step()
        }
        return try body(connection)
    }
}
