/// Which of the database's reader pools a read uses. Each lane has its own fixed number of connections, so the
/// daemon's own reads (executors, billing, pollers: `.internal`) never queue behind reads made for HTTP clients
/// (`.api`), however many clients there are.
public enum ReadLane: String, Sendable, Hashable, CaseIterable {
    /// The daemon's own work. The default.
    case `internal`
    /// Reads made on behalf of an HTTP API client.
    case api

    /// The lane `Database.read(_:)` uses in the current task and its child tasks: `.internal` unless a caller set it
    /// (`ReadLane.$current.withValue(.api) { … }`, as the HTTP API does around each request).
    @TaskLocal public static var current: ReadLane = .internal
}

/// A reader pool's occupancy, for metrics and tests.
public struct ReaderLaneStatus: Hashable, Sendable {
    /// Connections the lane may hold (and so reads it runs at once, each on its own thread).
    public var capacity: Int
    /// Reads running now.
    public var busy: Int
    /// Reads waiting for a connection.
    public var waiting: Int
    /// Connections opened so far (at most `capacity`; opened on first use and kept).
    public var opened: Int

    public init(capacity: Int, busy: Int, waiting: Int, opened: Int) {
        self.capacity = capacity
        self.busy = busy
        self.waiting = waiting
        self.opened = opened
    }
}
