import Dispatch
import Foundation
import Store
import Synchronization
import TestSupport
import Testing

/// Reads in flight at once, and the connections they ran on.
final class ReadProbe: Sendable {
    private let state = Mutex<(inFlight: Int, most: Int, connections: Set<ObjectIdentifier>)>((0, 0, []))

    /// Marks a read as running on `connection` for `milliseconds` (blocking its reader thread, as a slow query does).
    func hold(_ connection: SQLiteConnection, milliseconds: Int) {
        state.withLock { state in
            state.inFlight += 1
            state.most = max(state.most, state.inFlight)
            state.connections.insert(ObjectIdentifier(connection))
        }
        usleep(useconds_t(milliseconds * 1000))
        state.withLock { $0.inFlight -= 1 }
    }

    var most: Int { state.withLock { $0.most } }
    var connections: Int { state.withLock { $0.connections.count } }
}

/// A count shared by tasks.
final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

@Suite("SQLite database: bounded reader pool")
struct ReaderPoolTests {
    func database(readers: Int) throws -> Database {
        let db = try Database(path: try temporaryDirectory("settle-pool").appendingPathComponent("db.sqlite").path, readers: readers)
        return db
    }

    @Test("N + k concurrent reads run at most N at a time on at most N connections; the others wait, then succeed", arguments: [1, 3])
    func boundHolds(_ readers: Int) async throws {
        let db = try database(readers: readers)
        try await db.migrate(module: "t", ["CREATE TABLE kv (k INTEGER PRIMARY KEY) STRICT; INSERT INTO kv VALUES (7)"])
        let probe = ReadProbe()
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<(readers * 4) {
                group.addTask {
                    try await db.read { c in
                        probe.hold(c, milliseconds: 40)
                        let s = try c.statement("SELECT k FROM kv")
                        return try s.step() ? s.int(0) : -1
                    }
                }
            }
            var out: [Int] = []
            for try await value in group { out.append(value) }
            return out
        }
        #expect(results == Array(repeating: 7, count: readers * 4))
        #expect(probe.most <= readers, "\(probe.most) reads ran at once with \(readers) readers")
        #expect(probe.connections <= readers, "\(probe.connections) reader connections were opened for \(readers) readers")
    }
}

extension ReaderPoolTests {
    func database(readers: Int, apiReaders: Int) throws -> Database {
        try Database(path: try temporaryDirectory("settle-lanes").appendingPathComponent("db.sqlite").path, readers: readers, apiReaders: apiReaders)
    }

    @Test("N + k concurrent API reads run at most N at a time on at most N connections of the API lane; the others wait, then succeed")
    func apiLaneBound() async throws {
        let db = try database(readers: 4, apiReaders: 2)
        try await db.migrate(module: "t", ["CREATE TABLE kv (k INTEGER PRIMARY KEY) STRICT; INSERT INTO kv VALUES (7)"])
        let probe = ReadProbe()
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<10 {
                group.addTask {
                    // Half name the lane, half inherit it from the task (as the HTTP API's request handlers do).
                    let body: @Sendable (SQLiteConnection) throws -> Int = { c in
                        probe.hold(c, milliseconds: 40)
                        let s = try c.statement("SELECT k FROM kv")
                        return try s.step() ? s.int(0) : -1
                    }
                    return i % 2 == 0 ? try await db.read(lane: .api, body) : try await ReadLane.$current.withValue(.api) { try await db.read(body) }
                }
            }
            var out: [Int] = []
            for try await value in group { out.append(value) }
            return out
        }
        #expect(results == Array(repeating: 7, count: 10))
        #expect(probe.most <= 2, "\(probe.most) API reads ran at once with 2 API readers")
        #expect(probe.connections <= 2, "\(probe.connections) connections served the API lane of 2")
        #expect(db.readerStatus(.api).opened <= 2)
        #expect(db.readerStatus(.internal).opened == 0)  // no internal read was made
    }

    @Test("an internal read completes at once while the API lane is saturated by slow reads and more API reads queue behind them")
    func internalReadsNeverWaitBehindAPIReads() async throws {
        let db = try database(readers: 2, apiReaders: 2)
        try await db.migrate(module: "t", ["CREATE TABLE kv (k INTEGER PRIMARY KEY) STRICT; INSERT INTO kv VALUES (7)"])
        let gate = DispatchSemaphore(value: 0)
        let started = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<30 {  // 2 hold the lane's connections; 28 wait for them
                group.addTask {
                    _ = try await db.read(lane: .api) { _ in
                        started.value.add(1, ordering: .relaxed)
                        gate.wait()  // a slow query: blocks its reader thread until released
                    }
                }
            }
            // Wait (without sleeping a fixed time) until the lane is full and the rest are queued.
            // (The two holders' closures start on their reader queues a moment after checkout: wait for that too. On a
            // loaded machine that moment was seen to take long enough to fail a bare check.)
            let deadline = ContinuousClock.now + .seconds(120)
            while db.readerStatus(.api).waiting < 28 || started.value.load(ordering: .relaxed) < 2, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(db.readerStatus(.api).busy == 2)
            #expect(db.readerStatus(.api).waiting == 28)
            #expect(started.value.load(ordering: .relaxed) == 2)
            // The daemon's own read (the default lane) is not among the waiters: it runs now.
            let value = try await db.read { c in
                let s = try c.statement("SELECT k FROM kv")
                return try s.step() ? s.int(0) : -1
            }
            #expect(value == 7)
            #expect(db.readerStatus(.api).waiting == 28)  // still saturated while it ran
            for _ in 0..<30 { gate.signal() }
            try await group.waitForAll()
        }
        #expect(started.value.load(ordering: .relaxed) == 30)
        #expect(db.readerStatus(.api) == ReaderLaneStatus(capacity: 2, busy: 0, waiting: 0, opened: 2))
    }

    @Test("a read that throws gives its connection back; the lane keeps serving")
    func failuresFreeTheConnection() async throws {
        let db = try database(readers: 1, apiReaders: 1)
        try await db.migrate(module: "t", ["CREATE TABLE kv (k INTEGER PRIMARY KEY) STRICT; INSERT INTO kv VALUES (7)"])
        for lane in ReadLane.allCases {
            for _ in 0..<3 {
                await #expect(throws: StoreError.self) { try await db.read(lane: lane) { c in try c.statement("SELECT nothing FROM nowhere").step() } }
            }
            #expect(try await db.read(lane: lane) { c in try c.statement("SELECT k FROM kv").step() })
            #expect(db.readerStatus(lane).busy == 0)
        }
    }
}
