import Synchronization

/// The server's connection cap. Every accepted connection registers; at the cap, the connection that has been
/// evictable (idle, or with only part of a head) the longest is closed to make room, so idle or trickling
/// connections can never keep a new client — Stripe delivering a webhook — out. When every connection is busy with
/// a request, the new one is refused (503).
///
/// The choice is `ConnectionGovernor.admit` on plain values (no I/O); the registry around it holds a `Mutex`.
public final class ConnectionGovernor<Handle: Sendable>: Sendable {
    public struct Entry: Sendable {
        public var handle: Handle
        public var evictable: Bool
        /// Since when the connection has been in its current phase (nanoseconds, monotonic).
        public var since: UInt64
    }

    public enum Admission: Sendable {
        /// Admitted as `id`; `evicting` (if any) must be closed.
        case admitted(id: Int, evicting: Handle?)
        /// At the cap with every connection busy: refuse.
        case refused
    }

    public let capacity: Int
    private let state: Mutex<(next: Int, entries: [Int: Entry])>

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        state = Mutex((0, [:]))
    }

    /// Registers a new connection at `now` (it starts idle, hence evictable).
    public func admit(_ handle: Handle, now: UInt64) -> Admission {
        state.withLock { state in
            var evicting: Handle?
            if state.entries.count >= capacity {
                guard let victim = Self.victim(state.entries) else { return .refused }
                evicting = state.entries.removeValue(forKey: victim)?.handle
            }
            state.next += 1
            state.entries[state.next] = Entry(handle: handle, evictable: true, since: now)
            return .admitted(id: state.next, evicting: evicting)
        }
    }

    /// The connection's phase changed.
    public func update(_ id: Int, evictable: Bool, since: UInt64) {
        state.withLock { state in
            state.entries[id]?.evictable = evictable
            state.entries[id]?.since = since
        }
    }

    /// The connection closed (by either side, or evicted).
    public func closed(_ id: Int) {
        state.withLock { _ = $0.entries.removeValue(forKey: id) }
    }

    /// Open connections.
    public var count: Int { state.withLock { $0.entries.count } }

    /// The evictable connection in its phase the longest (ties: the oldest id), or nil when all are busy.
    static func victim(_ entries: [Int: Entry]) -> Int? {
        var best: (id: Int, since: UInt64)?
        for (id, entry) in entries where entry.evictable {
            if let current = best, (current.since, current.id) <= (entry.since, id) { continue }
            best = (id, entry.since)
        }
        return best?.id
    }
}
