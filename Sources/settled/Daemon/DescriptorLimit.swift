#if canImport(Glibc)
import Glibc
#endif

/// The process's open-file limit (RLIMIT_NOFILE), which bounds the HTTP server's connections.
enum DescriptorLimit {
    /// Descriptors kept for everything but HTTP clients: SQLite (writer, readers, WAL and shared memory), libcurl's
    /// connections to RPC nodes and Stripe, logs, the event loops.
    static let reserved = 128

    /// Raises the soft limit to the hard one (what an unprivileged process may); the soft limit afterwards, or nil
    /// when it cannot be read or is unlimited.
    static func raise() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        guard limit.rlim_cur != rlim_t.max else { return nil }  // RLIM_INFINITY
        return Int(exactly: limit.rlim_cur) ?? Int.max
    }
}
